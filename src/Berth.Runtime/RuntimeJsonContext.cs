using System.Text.Json.Serialization;
using Berth.Runtime.Runc;
using Berth.Runtime.Shim;
using Berth.Runtime.Spec;

namespace Berth.Runtime;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(RuntimeSpec))]
[JsonSerializable(typeof(ExitStatus))]
[JsonSerializable(typeof(ShimStateInfo))]
[JsonSerializable(typeof(ExecRequest))]
[JsonSerializable(typeof(SpecProcess))]
[JsonSerializable(typeof(RuncState))]
[JsonSerializable(typeof(List<RuncState>))]
internal sealed partial class RuntimeJsonContext : JsonSerializerContext;
