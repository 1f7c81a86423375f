using System.Text.Json.Serialization;
using Berth.Storage.Snapshots;
using Berth.Storage.Volumes;

namespace Berth.Storage;

[JsonSourceGenerationOptions(
    WriteIndented = true,
    UseStringEnumConverter = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SnapshotMetadataFile))]
[JsonSerializable(typeof(VolumeMeta))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
