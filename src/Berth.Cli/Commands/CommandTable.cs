using Berth.Cli.CommandLine;

namespace Berth.Cli.Commands;

internal sealed record CommandGroup(string Name, string Description);

// Every command's flag table and handler, and the names it answers to (docker's aliases).
internal static class CommandTable
{
    private const string ListFormatHelp = "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template";
    private const string InspectFormatHelp = "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template";

    internal static readonly FlagSpec[] ContainerConfigFlags =
    [
        FlagSpec.List("add-host", null, "Add a custom host-to-IP mapping (host:ip)"),
        FlagSpec.List("annotation", null, "Add an annotation to the container (passed through to the OCI runtime)", "map"),
        FlagSpec.List("attach", 'a', "Attach to STDIN, STDOUT or STDERR"),
        FlagSpec.List("cap-add", null, "Add Linux capabilities"),
        FlagSpec.List("cap-drop", null, "Drop Linux capabilities"),
        FlagSpec.Str("cgroup-parent", null, "Optional parent cgroup for the container"),
        FlagSpec.Str("cgroupns", null, "Cgroup namespace to use (host|private)"),
        FlagSpec.Str("cidfile", null, "Write the container ID to the file"),
        FlagSpec.Str("cpu-period", null, "Limit CPU CFS (Completely Fair Scheduler) period", "int"),
        FlagSpec.Str("cpu-quota", null, "Limit CPU CFS (Completely Fair Scheduler) quota", "int"),
        FlagSpec.Str("cpu-shares", 'c', "CPU shares (relative weight)", "int"),
        FlagSpec.Str("cpus", null, "Number of CPUs", "decimal"),
        FlagSpec.Str("cpuset-cpus", null, "CPUs in which to allow execution (0-3, 0,1)"),
        FlagSpec.Str("cpuset-mems", null, "MEMs in which to allow execution (0-3, 0,1)"),
        FlagSpec.Str("detach-keys", null, "Override the key sequence for detaching a container"),
        FlagSpec.List("device", null, "Add a host device to the container"),
        FlagSpec.Bool("disable-content-trust", null, "Skip image verification (default true)"),
        FlagSpec.List("dns", null, "Set custom DNS servers"),
        FlagSpec.List("dns-option", null, "Set DNS options"),
        FlagSpec.List("dns-search", null, "Set custom DNS search domains"),
        FlagSpec.Str("domainname", null, "Container NIS domain name"),
        FlagSpec.Str("entrypoint", null, "Overwrite the default ENTRYPOINT of the image"),
        FlagSpec.List("env", 'e', "Set environment variables"),
        FlagSpec.List("env-file", null, "Read in a file of environment variables"),
        FlagSpec.List("expose", null, "Expose a port or a range of ports"),
        FlagSpec.List("group-add", null, "Add additional groups to join"),
        FlagSpec.Str("health-cmd", null, "Command to run to check health"),
        FlagSpec.Str("health-interval", null, "Time between running the check (ms|s|m|h) (default 0s)", "duration"),
        FlagSpec.Str("health-on-failure", null, "Action when the container turns unhealthy (none|kill|restart|stop); sets the label berth.health-on-failure"),
        FlagSpec.Str("health-retries", null, "Consecutive failures needed to report unhealthy", "int"),
        FlagSpec.Str("health-start-interval", null, "Time between running the check during the start period (ms|s|m|h) (default 0s)", "duration"),
        FlagSpec.Str("health-start-period", null, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)", "duration"),
        FlagSpec.Str("health-timeout", null, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)", "duration"),
        FlagSpec.Str("hostname", 'h', "Container host name"),
        FlagSpec.Bool("init", null, "Run an init inside the container that forwards signals and reaps processes"),
        FlagSpec.Bool("interactive", 'i', "Keep STDIN open even if not attached"),
        FlagSpec.Str("ip", null, "IPv4 address (e.g., 172.30.100.104)"),
        FlagSpec.Str("ip6", null, "IPv6 address (e.g., 2001:db8::33)"),
        FlagSpec.Str("ipc", null, "IPC mode to use"),
        FlagSpec.List("label", 'l', "Set meta data on a container"),
        FlagSpec.List("label-file", null, "Read in a line delimited file of labels"),
        FlagSpec.Str("log-driver", null, "Logging driver for the container"),
        FlagSpec.List("log-opt", null, "Log driver options"),
        FlagSpec.Str("mac-address", null, "Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
        FlagSpec.Str("memory", 'm', "Memory limit", "bytes"),
        FlagSpec.Str("memory-reservation", null, "Memory soft limit", "bytes"),
        FlagSpec.Str("memory-swap", null, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", "bytes"),
        FlagSpec.Str("memory-swappiness", null, "Tune container memory swappiness (0 to 100)", "int", "-1"),
        FlagSpec.List("mount", null, "Attach a filesystem mount to the container", "mount"),
        FlagSpec.Str("name", null, "Assign a name to the container"),
        FlagSpec.List("network", null, "Connect a container to a network", "network"),
        FlagSpec.List("network-alias", null, "Add network-scoped alias for the container"),
        FlagSpec.Bool("no-healthcheck", null, "Disable any container-specified HEALTHCHECK"),
        FlagSpec.Bool("oom-kill-disable", null, "Disable OOM Killer"),
        FlagSpec.Str("oom-score-adj", null, "Tune host's OOM preferences (-1000 to 1000)", "int"),
        FlagSpec.Str("pid", null, "PID namespace to use"),
        FlagSpec.Str("pids-limit", null, "Tune container pids limit (set -1 for unlimited)", "int"),
        FlagSpec.Str("platform", null, "Set platform if server is multi-platform capable"),
        FlagSpec.Bool("privileged", null, "Give extended privileges to this container"),
        FlagSpec.List("publish", 'p', "Publish a container's port(s) to the host"),
        FlagSpec.Bool("publish-all", 'P', "Publish all exposed ports to random ports"),
        FlagSpec.Str("pull", null, "Pull image before running (\"always\", \"missing\", \"never\")", defaultValue: "missing"),
        FlagSpec.Bool("quiet", 'q', "Suppress the pull output"),
        FlagSpec.Bool("read-only", null, "Mount the container's root filesystem as read only"),
        FlagSpec.Str("restart", null, "Restart policy to apply when a container exits", defaultValue: "no"),
        FlagSpec.Bool("rm", null, "Automatically remove the container and its associated anonymous volumes when it exits"),
        FlagSpec.Str("runtime", null, "Runtime to use for this container"),
        FlagSpec.List("security-opt", null, "Security Options"),
        FlagSpec.Str("shm-size", null, "Size of /dev/shm", "bytes"),
        FlagSpec.Bool("sig-proxy", null, "Proxy received signals to the process (default true)"),
        FlagSpec.Str("stop-signal", null, "Signal to stop the container"),
        FlagSpec.Str("stop-timeout", null, "Timeout (in seconds) to stop a container", "int"),
        FlagSpec.List("storage-opt", null, "Storage driver options for the container"),
        FlagSpec.List("sysctl", null, "Sysctl options", "map"),
        FlagSpec.List("tmpfs", null, "Mount a tmpfs directory"),
        FlagSpec.Bool("tty", 't', "Allocate a pseudo-TTY"),
        FlagSpec.List("ulimit", null, "Ulimit options", "ulimit"),
        FlagSpec.Str("user", 'u', "Username or UID (format: <name|uid>[:<group|gid>])"),
        FlagSpec.Str("userns", null, "User namespace to use"),
        FlagSpec.Str("uts", null, "UTS namespace to use"),
        FlagSpec.List("volume", 'v', "Bind mount a volume"),
        FlagSpec.Str("volume-driver", null, "Optional volume driver for the container"),
        FlagSpec.List("volumes-from", null, "Mount volumes from the specified container(s)"),
        FlagSpec.Str("workdir", 'w', "Working directory inside the container"),
    ];

    private static FlagSpec ListFormat() => FlagSpec.Str("format", null, ListFormatHelp);

    private static FlagSpec InspectFormat() => FlagSpec.Str("format", 'f', InspectFormatHelp);

    private static FlagSpec Filter(char? s = 'f', string help = "Filter output based on conditions provided") => FlagSpec.List("filter", s, help, "filter");

    public static readonly CommandGroup[] Groups =
    [
        new("container", "Manage containers"),
        new("image", "Manage images"),
        new("network", "Manage networks"),
        new("registry", "Run an OCI registry (berth-registry)"),
        new("system", "Manage Berth"),
        new("volume", "Manage volumes"),
    ];

    public static readonly Command[] All =
    [
        new(new("container run", "berth run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
            [.. ContainerConfigFlags, FlagSpec.Bool("detach", 'd', "Run container in background and print container ID")],
            Interspersed: false, MinArgs: 1, Aliases: ["container run", "run"]), RunCommand.RunAsync),
        new(new("container create", "berth create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
            ContainerConfigFlags, Interspersed: false, MinArgs: 1, Aliases: ["container create", "create"]), RunCommand.CreateAsync),
        new(new("container exec", "berth exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container",
            [
                FlagSpec.Bool("detach", 'd', "Detached mode: run command in the background"),
                FlagSpec.Str("detach-keys", null, "Override the key sequence for detaching a container"),
                FlagSpec.List("env", 'e', "Set environment variables"),
                FlagSpec.List("env-file", null, "Read in a file of environment variables"),
                FlagSpec.Bool("interactive", 'i', "Keep STDIN open even if not attached"),
                FlagSpec.Bool("privileged", null, "Give extended privileges to the command"),
                FlagSpec.Bool("tty", 't', "Allocate a pseudo-TTY"),
                FlagSpec.Str("user", 'u', "Username or UID (format: \"<name|uid>[:<group|gid>]\")"),
                FlagSpec.Str("workdir", 'w', "Working directory inside the container"),
            ], Interspersed: false, MinArgs: 2, Aliases: ["container exec", "exec"]), ExecCommand.RunAsync),
        new(new("container attach", "berth attach [OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container",
            [
                FlagSpec.Str("detach-keys", null, "Override the key sequence for detaching a container"),
                FlagSpec.Bool("no-stdin", null, "Do not attach STDIN"),
                FlagSpec.Bool("sig-proxy", null, "Proxy all received signals to the process (default true)"),
            ], MinArgs: 1, MaxArgs: 1, Aliases: ["container attach", "attach"]), ContainerCommands.AttachAsync),
        new(new("container start", "berth start [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers",
            [
                FlagSpec.Bool("attach", 'a', "Attach STDOUT/STDERR and forward signals"),
                FlagSpec.Str("checkpoint", null, "Restore from this checkpoint"),
                FlagSpec.Str("checkpoint-dir", null, "Use a custom checkpoint storage directory"),
                FlagSpec.Str("detach-keys", null, "Override the key sequence for detaching a container"),
                FlagSpec.Bool("interactive", 'i', "Attach container's STDIN"),
            ], MinArgs: 1, Aliases: ["container start", "start"]), ContainerCommands.StartAsync),
        new(new("container stop", "berth stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
            [FlagSpec.Str("signal", 's', "Signal to send to the container"), FlagSpec.Str("timeout", 't', "Seconds to wait before killing the container", "int")],
            MinArgs: 1, Aliases: ["container stop", "stop"]), ContainerCommands.StopAsync),
        new(new("container kill", "berth kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers",
            [FlagSpec.Str("signal", 's', "Signal to send to the container")], MinArgs: 1, Aliases: ["container kill", "kill"]), ContainerCommands.KillAsync),
        new(new("container restart", "berth restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers",
            [FlagSpec.Str("signal", 's', "Signal to send to the container"), FlagSpec.Str("timeout", 't', "Seconds to wait before killing the container", "int")],
            MinArgs: 1, Aliases: ["container restart", "restart"]), ContainerCommands.RestartAsync),
        new(new("container rm", "berth rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers",
            [
                FlagSpec.Bool("force", 'f', "Force the removal of a running container (uses SIGKILL)"),
                FlagSpec.Bool("link", 'l', "Remove the specified link"),
                FlagSpec.Bool("volumes", 'v', "Remove anonymous volumes associated with the container"),
            ], MinArgs: 1, Aliases: ["container rm", "container remove", "rm"]), ContainerCommands.RemoveAsync),
        new(new("container ls", "berth ps [OPTIONS]", "List containers",
            [
                FlagSpec.Bool("all", 'a', "Show all containers (default shows just running)"),
                Filter(),
                ListFormat(),
                FlagSpec.Str("last", 'n', "Show n last created containers (includes all states)", "int", "-1"),
                FlagSpec.Bool("latest", 'l', "Show the latest created container (includes all states)"),
                FlagSpec.Bool("no-trunc", null, "Don't truncate output"),
                FlagSpec.Bool("quiet", 'q', "Only display container IDs"),
                FlagSpec.Bool("size", 's', "Display total file sizes"),
            ], MaxArgs: 0, Aliases: ["container ls", "container list", "container ps", "ps"]), PsCommand.RunAsync),
        new(new("inspect", "berth inspect [OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on Berth objects",
            [InspectFormat(), FlagSpec.Bool("size", 's', "Display total file sizes if the type is container"), FlagSpec.Str("type", null, "Only inspect objects of the given type")],
            MinArgs: 1), InspectCommand.InspectAnyAsync),
        new(new("container inspect", "berth container inspect [OPTIONS] CONTAINER [CONTAINER...]", "Display detailed information on one or more containers",
            [InspectFormat(), FlagSpec.Bool("size", 's', "Display total file sizes")], MinArgs: 1), InspectCommand.InspectContainersAsync),
        new(new("container logs", "berth logs [OPTIONS] CONTAINER", "Fetch the logs of a container",
            [
                FlagSpec.Bool("details", null, "Show extra details provided to logs"),
                FlagSpec.Bool("follow", 'f', "Follow log output"),
                FlagSpec.Str("since", null, "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)"),
                FlagSpec.Str("tail", 'n', "Number of lines to show from the end of the logs", defaultValue: "all"),
                FlagSpec.Bool("timestamps", 't', "Show timestamps"),
                FlagSpec.Str("until", null, "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)"),
            ], MinArgs: 1, MaxArgs: 1, Aliases: ["container logs", "logs"]), ContainerCommands.LogsAsync),
        new(new("container wait", "berth wait CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes",
            [], MinArgs: 1, Aliases: ["container wait", "wait"]), ContainerCommands.WaitAsync),
        new(new("container rename", "berth rename CONTAINER NEW_NAME", "Rename a container",
            [], MinArgs: 2, MaxArgs: 2, Aliases: ["container rename", "rename"]), ContainerCommands.RenameAsync),
        new(new("container top", "berth top CONTAINER [ps OPTIONS]", "Display the running processes of a container",
            [], Interspersed: false, MinArgs: 1, Aliases: ["container top", "top"]), ContainerCommands.TopAsync),
        new(new("container stats", "berth stats [OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics",
            [
                FlagSpec.Bool("all", 'a', "Show all containers (default shows just running)"),
                ListFormat(),
                FlagSpec.Bool("no-stream", null, "Disable streaming stats and only pull the first result"),
                FlagSpec.Bool("no-trunc", null, "Do not truncate output"),
            ], Aliases: ["container stats", "stats"]), StatsCommands.StatsAsync),
        new(new("container pause", "berth pause CONTAINER [CONTAINER...]", "Pause all processes within one or more containers",
            [], MinArgs: 1, Aliases: ["container pause", "pause"]), StatsCommands.PauseAsync),
        new(new("container unpause", "berth unpause CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers",
            [], MinArgs: 1, Aliases: ["container unpause", "unpause"]), StatsCommands.UnpauseAsync),
        new(new("container update", "berth update [OPTIONS] CONTAINER [CONTAINER...]", "Update configuration of one or more containers",
            [
                FlagSpec.Str("blkio-weight", null, "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)", "uint16"),
                FlagSpec.Str("cpu-period", null, "Limit CPU CFS (Completely Fair Scheduler) period", "int"),
                FlagSpec.Str("cpu-quota", null, "Limit CPU CFS (Completely Fair Scheduler) quota", "int"),
                FlagSpec.Str("cpu-rt-period", null, "Limit the CPU real-time period in microseconds", "int"),
                FlagSpec.Str("cpu-rt-runtime", null, "Limit the CPU real-time runtime in microseconds", "int"),
                FlagSpec.Str("cpu-shares", 'c', "CPU shares (relative weight)", "int"),
                FlagSpec.Str("cpus", null, "Number of CPUs", "decimal"),
                FlagSpec.Str("cpuset-cpus", null, "CPUs in which to allow execution (0-3, 0,1)"),
                FlagSpec.Str("cpuset-mems", null, "MEMs in which to allow execution (0-3, 0,1)"),
                FlagSpec.Str("kernel-memory", null, "Kernel memory limit (deprecated)", "bytes", hidden: true),
                FlagSpec.Str("memory", 'm', "Memory limit", "bytes"),
                FlagSpec.Str("memory-reservation", null, "Memory soft limit", "bytes"),
                FlagSpec.Str("memory-swap", null, "Swap limit equal to memory plus swap: -1 to enable unlimited swap", "bytes"),
                FlagSpec.Str("pids-limit", null, "Tune container pids limit (set -1 for unlimited)", "int"),
                FlagSpec.Str("restart", null, "Restart policy to apply when a container exits"),
            ], MinArgs: 1, Aliases: ["container update", "update"]), StatsCommands.UpdateAsync),
        new(new("container prune", "berth container prune [OPTIONS]", "Remove all stopped containers",
            [Filter(null, "Provide filter values (e.g. \"until=<timestamp>\")"), FlagSpec.Bool("force", 'f', "Do not prompt for confirmation")], MaxArgs: 0),
            ContainerCommands.PruneAsync),
        new(new("container cp", "berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH", "Copy files/folders between a container and the local filesystem",
            [
                FlagSpec.Bool("archive", 'a', "Archive mode (copy all uid/gid information)"),
                FlagSpec.Bool("follow-link", 'L', "Always follow symbol link in SRC_PATH"),
                FlagSpec.Bool("quiet", 'q', "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached"),
            ], MinArgs: 2, MaxArgs: 2, Aliases: ["container cp", "cp"]), FileCommands.CopyAsync),
        new(new("container diff", "berth diff CONTAINER", "Inspect changes to files or directories on a container's filesystem",
            [], MinArgs: 1, MaxArgs: 1, Aliases: ["container diff", "diff"]), FileCommands.DiffAsync),
        new(new("container export", "berth export [OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive",
            [FlagSpec.Str("output", 'o', "Write to a file, instead of STDOUT")], MinArgs: 1, MaxArgs: 1, Aliases: ["container export", "export"]), FileCommands.ExportAsync),
        new(new("container commit", "berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes",
            [
                FlagSpec.Str("author", 'a', "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")"),
                FlagSpec.List("change", 'c', "Apply Dockerfile instruction to the created image"),
                FlagSpec.Str("message", 'm', "Commit message"),
                FlagSpec.Bool("pause", 'p', "Pause container during commit (default true)"),
            ], MinArgs: 1, MaxArgs: 2, Aliases: ["container commit", "commit"]), FileCommands.CommitAsync),
        new(new("image import", "berth import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create a filesystem image",
            [
                FlagSpec.List("change", 'c', "Apply Dockerfile instruction to the created image"),
                FlagSpec.Str("message", 'm', "Set commit message for imported image"),
                FlagSpec.Str("platform", null, "Set platform if server is multi-platform capable"),
            ], MinArgs: 1, MaxArgs: 2, Aliases: ["image import", "import"]), ImageCommands.ImportAsync),
        new(new("image ls", "berth images [OPTIONS] [REPOSITORY[:TAG]]", "List images",
            [
                FlagSpec.Bool("all", 'a', "Show all images (default hides intermediate images)"),
                FlagSpec.Bool("digests", null, "Show digests"),
                Filter(),
                ListFormat(),
                FlagSpec.Bool("no-trunc", null, "Don't truncate output"),
                FlagSpec.Bool("quiet", 'q', "Only show image IDs"),
                FlagSpec.Bool("tree", null, "List multi-platform images as a tree (EXPERIMENTAL)", hidden: true),
            ], MaxArgs: 1, Aliases: ["image ls", "image list", "images"]), ImageCommands.ListAsync),
        new(new("image inspect", "berth image inspect [OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images",
            [InspectFormat(), FlagSpec.Str("platform", null, "Inspect a specific platform of the multi-platform image.")], MinArgs: 1),
            InspectCommand.InspectImagesAsync),
        new(new("image build", "berth build [OPTIONS] PATH | -", "Build an image from a Dockerfile",
            [
                FlagSpec.List("build-arg", null, "Set build-time variables"),
                FlagSpec.List("cache-from", null, "Images to consider as cache sources"),
                FlagSpec.Str("file", 'f', "Name of the Dockerfile (Default is \"PATH/Dockerfile\")"),
                FlagSpec.Bool("force-rm", null, "Always remove intermediate containers"),
                FlagSpec.Str("iidfile", null, "Write the image ID to the file"),
                FlagSpec.List("label", null, "Set metadata for an image"),
                FlagSpec.Str("platform", null, "Set platform if server is multi-platform capable"),
                FlagSpec.Str("network", null, "Set the networking mode for the RUN instructions during build", defaultValue: "default"),
                FlagSpec.Bool("no-cache", null, "Do not use cache when building the image"),
                FlagSpec.Bool("pull", null, "Always attempt to pull a newer version of the image"),
                FlagSpec.Bool("quiet", 'q', "Suppress the build output and print image ID on success"),
                FlagSpec.Bool("rm", null, "Remove intermediate containers after a successful build (default true)"),
                FlagSpec.List("tag", 't', "Name and optionally a tag in the \"name:tag\" format"),
                FlagSpec.Str("target", null, "Set the target build stage to build."),
                // The RUN containers' limits and host settings: docker build takes these flags of docker run.
                .. ContainerConfigFlags.Where(f => f.Name is "add-host" or "cgroup-parent" or "cpu-period" or "cpu-quota" or "cpu-shares"
                    or "cpuset-cpus" or "cpuset-mems" or "memory" or "memory-swap" or "security-opt" or "shm-size" or "ulimit"),
            ], MinArgs: 1, MaxArgs: 1, Aliases: ["image build", "build", "builder build"]), BuildCommand.BuildAsync),
        new(new("image history", "berth image history [OPTIONS] IMAGE", "Show the history of an image",
            [
                ListFormat(),
                FlagSpec.Bool("human", 'H', "Print sizes and dates in human readable format (default true)"),
                FlagSpec.Bool("no-trunc", null, "Don't truncate output"),
                FlagSpec.Str("platform", null, "Show history for the given platform. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")"),
                FlagSpec.Bool("quiet", 'q', "Only show image IDs"),
            ], MinArgs: 1, MaxArgs: 1, Aliases: ["image history", "history"]), ImageCommands.HistoryAsync),
        new(new("image rm", "berth rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images",
            [
                FlagSpec.Bool("force", 'f', "Force removal of the image"),
                FlagSpec.Bool("no-prune", null, "Do not delete untagged parents"),
                FlagSpec.List("platform", null, "Remove only the given platform variant. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")", "strings"),
            ], MinArgs: 1, Aliases: ["image rm", "image remove", "rmi"]), ImageCommands.RemoveAsync),
        new(new("image prune", "berth image prune [OPTIONS]", "Remove unused images",
            [
                FlagSpec.Bool("all", 'a', "Remove all unused images, not just dangling ones"),
                Filter(null, "Provide filter values (e.g. \"until=<timestamp>\")"),
                FlagSpec.Bool("force", 'f', "Do not prompt for confirmation"),
            ], MaxArgs: 0), ImageCommands.PruneAsync),
        new(new("image pull", "berth pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry",
            [
                FlagSpec.Bool("all-tags", 'a', "Download all tagged images in the repository"),
                FlagSpec.Bool("disable-content-trust", null, "Skip image verification (default true)"),
                FlagSpec.Str("platform", null, "Set platform if server is multi-platform capable"),
                FlagSpec.Bool("quiet", 'q', "Suppress verbose output"),
            ], MinArgs: 1, MaxArgs: 1, Aliases: ["image pull", "pull"]), ImageCommands.PullCommandAsync),
        new(new("image push", "berth push [OPTIONS] NAME[:TAG]", "Upload an image to a registry",
            [
                FlagSpec.Bool("all-tags", 'a', "Push all tags of an image to the repository"),
                FlagSpec.Bool("disable-content-trust", null, "Skip image signing (default true)"),
                FlagSpec.Bool("quiet", 'q', "Suppress verbose output"),
            ], MinArgs: 1, MaxArgs: 1, Aliases: ["image push", "push"]), PushCommand.PushAsync),
        new(new("login", "berth login [OPTIONS] [SERVER]", "Authenticate to a registry",
            [
                FlagSpec.Str("password", 'p', "Password or Personal Access Token (PAT)"),
                FlagSpec.Bool("password-stdin", null, "Take the Password or Personal Access Token (PAT) from stdin"),
                FlagSpec.Str("username", 'u', "Username"),
            ], MaxArgs: 1), RegistryAuthCommands.LoginAsync),
        new(new("logout", "berth logout [SERVER]", "Log out from a registry",
            [], MaxArgs: 1), RegistryAuthCommands.LogoutAsync),
        new(new("image tag", "berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
            [], MinArgs: 2, MaxArgs: 2, Aliases: ["image tag", "tag"]), ImageCommands.TagAsync),
        new(new("image save", "berth save [OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)",
            [FlagSpec.Str("output", 'o', "Write to a file, instead of STDOUT")], MinArgs: 1, Aliases: ["image save", "save"]), SaveLoadCommands.SaveAsync),
        new(new("image load", "berth load [OPTIONS]", "Load an image from a tar archive or STDIN",
            [
                FlagSpec.Str("input", 'i', "Read from tar archive file, instead of STDIN"),
                FlagSpec.Bool("quiet", 'q', "Suppress the load output"),
            ], MaxArgs: 0, Aliases: ["image load", "load"]), SaveLoadCommands.LoadAsync),
        new(new("volume create", "berth volume create [OPTIONS] [VOLUME]", "Create a volume",
            [
                FlagSpec.Str("driver", 'd', "Specify volume driver name", defaultValue: "local"),
                FlagSpec.List("label", null, "Set metadata for a volume"),
                FlagSpec.Str("name", null, "Specify volume name", hidden: true),
                FlagSpec.List("opt", 'o', "Set driver specific options", "map"),
            ], MaxArgs: 1), VolumeCommands.CreateAsync),
        new(new("volume ls", "berth volume ls [OPTIONS]", "List volumes",
            [
                FlagSpec.Bool("cluster", null, "Display only cluster volumes, and use cluster volume list formatting", hidden: true),
                Filter('f', "Provide filter values (e.g. \"dangling=true\")"),
                ListFormat(),
                FlagSpec.Bool("quiet", 'q', "Only display volume names"),
            ], MaxArgs: 0, Aliases: ["volume ls", "volume list"]), VolumeCommands.ListAsync),
        new(new("volume inspect", "berth volume inspect [OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes",
            [InspectFormat()], MinArgs: 1), InspectCommand.InspectVolumesAsync),
        new(new("volume rm", "berth volume rm [OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes. You cannot remove a volume that is in use by a container.",
            [FlagSpec.Bool("force", 'f', "Force the removal of one or more volumes")], MinArgs: 1, Aliases: ["volume rm", "volume remove"]), VolumeCommands.RemoveAsync),
        new(new("volume prune", "berth volume prune [OPTIONS]", "Remove unused local volumes",
            [
                FlagSpec.Bool("all", 'a', "Remove all unused volumes, not just anonymous ones"),
                Filter(null, "Provide filter values (e.g. \"label=<label>\")"),
                FlagSpec.Bool("force", 'f', "Do not prompt for confirmation"),
            ], MaxArgs: 0), VolumeCommands.PruneAsync),
        new(new("network connect", "berth network connect [OPTIONS] NETWORK CONTAINER", "Connect a container to a network",
            [
                FlagSpec.List("alias", null, "Add network-scoped alias for the container", "strings"),
                FlagSpec.List("driver-opt", null, "driver options for the network", "strings"),
                FlagSpec.Str("ip", null, "IPv4 address (e.g., \"172.30.100.104\")"),
                FlagSpec.Str("ip6", null, "IPv6 address (e.g., \"2001:db8::33\")"),
            ], MinArgs: 2, MaxArgs: 2), NetworkCommands.ConnectAsync),
        new(new("network create", "berth network create [OPTIONS] NETWORK", "Create a network",
            [
                FlagSpec.Bool("attachable", null, "Enable manual container attachment"),
                FlagSpec.List("aux-address", null, "Auxiliary IPv4 or IPv6 addresses used by Network driver", "map"),
                FlagSpec.Str("driver", 'd', "Driver to manage the Network", defaultValue: "bridge"),
                FlagSpec.List("gateway", null, "IPv4 or IPv6 Gateway for the master subnet", "strings"),
                FlagSpec.Bool("internal", null, "Restrict external access to the network"),
                FlagSpec.List("ip-range", null, "Allocate container ip from a sub-range", "strings"),
                FlagSpec.Str("ipam-driver", null, "IP Address Management Driver", defaultValue: "default"),
                FlagSpec.List("ipam-opt", null, "Set IPAM driver specific options", "map"),
                FlagSpec.Bool("ipv4", null, "Enable or disable IPv4 address assignment (default true)"),
                FlagSpec.Bool("ipv6", null, "Enable or disable IPv6 address assignment"),
                FlagSpec.List("label", null, "Set metadata on a network"),
                FlagSpec.List("opt", 'o', "Set driver specific options", "map"),
                FlagSpec.Str("scope", null, "Control the network's scope"),
                FlagSpec.List("subnet", null, "Subnet in CIDR format that represents a network segment", "strings"),
            ], MinArgs: 1, MaxArgs: 1), NetworkCommands.CreateAsync),
        new(new("network disconnect", "berth network disconnect [OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network",
            [FlagSpec.Bool("force", 'f', "Force the container to disconnect from a network")], MinArgs: 2, MaxArgs: 2), NetworkCommands.DisconnectAsync),
        new(new("network inspect", "berth network inspect [OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks",
            [InspectFormat(), FlagSpec.Bool("verbose", 'v', "Verbose output for diagnostics")], MinArgs: 1), InspectCommand.InspectNetworksAsync),
        new(new("network ls", "berth network ls [OPTIONS]", "List networks",
            [
                Filter('f', "Provide filter values (e.g. \"driver=bridge\")"),
                ListFormat(),
                FlagSpec.Bool("no-trunc", null, "Do not truncate the output"),
                FlagSpec.Bool("quiet", 'q', "Only display network IDs"),
            ], MaxArgs: 0, Aliases: ["network ls", "network list"]), NetworkCommands.ListAsync),
        new(new("network prune", "berth network prune [OPTIONS]", "Remove all unused networks",
            [Filter(null, "Provide filter values (e.g. \"until=<timestamp>\")"), FlagSpec.Bool("force", 'f', "Do not prompt for confirmation")], MaxArgs: 0),
            NetworkCommands.PruneAsync),
        new(new("network rm", "berth network rm NETWORK [NETWORK...]", "Remove one or more networks",
            [FlagSpec.Bool("force", 'f', "Do not error if the network does not exist")], MinArgs: 1, Aliases: ["network rm", "network remove"]),
            NetworkCommands.RemoveAsync),
        new(new("version", "berth version [OPTIONS]", "Show the Berth version information", [InspectFormat()], MaxArgs: 0), SystemCommands.VersionAsync),
        new(new("system info", "berth info [OPTIONS]", "Display system-wide information", [InspectFormat()], MaxArgs: 0, Aliases: ["system info", "info"]),
            SystemCommands.InfoAsync),
        new(new("system events", "berth events [OPTIONS]", "Get real time events from the server",
            [
                Filter('f', "Filter output based on conditions provided"),
                FlagSpec.Str("format", null, "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template"),
                FlagSpec.Str("since", null, "Show all events created since timestamp"),
                FlagSpec.Str("until", null, "Stream events until this timestamp"),
            ], MaxArgs: 0, Aliases: ["system events", "events"]), EventsCommands.EventsAsync),
        new(new("system df", "berth system df [OPTIONS]", "Show Berth disk usage",
            [FlagSpec.Str("format", null, ListFormatHelp), FlagSpec.Bool("verbose", 'v', "Show detailed information on space usage")], MaxArgs: 0),
            EventsCommands.DiskUsageAsync),
        new(new("system prune", "berth system prune [OPTIONS]", "Remove unused data",
            [
                FlagSpec.Bool("all", 'a', "Remove all unused images not just dangling ones"),
                Filter(null, "Provide filter values (e.g. \"label=<key>=<value>\")"),
                FlagSpec.Bool("force", 'f', "Do not prompt for confirmation"),
                FlagSpec.Bool("volumes", null, "Prune anonymous volumes"),
            ], MaxArgs: 0), EventsCommands.SystemPruneAsync),
        new(new("registry serve", "berth registry serve [OPTIONS]", "Serve an OCI Distribution registry", RegistryCommands.ServeFlags, MaxArgs: 0),
            RegistryCommands.ServeAsync),
        new(new("registry gc", "berth registry gc [OPTIONS]", "Remove unreferenced blobs and manifests while the registry serves",
            RegistryCommands.GcFlags, MaxArgs: 0), RegistryCommands.GcAsync),
        new(new("container port", "berth port CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container",
            [], MinArgs: 1, MaxArgs: 2, Aliases: ["container port", "port"]), EventsCommands.PortAsync),
    ];

    public static IEnumerable<Command> TopLevel =>
        All.Where(c => (c.Spec.Aliases ?? [c.Spec.Path]).Any(a => !a.Contains(' ')) || !c.Spec.Path.Contains(' '))
           .OrderBy(c => TopName(c), StringComparer.Ordinal)
           .Select(c => c with { Spec = c.Spec with { Path = TopName(c) } });

    private static string TopName(Command c) => (c.Spec.Aliases ?? [c.Spec.Path]).FirstOrDefault(a => !a.Contains(' ')) ?? c.Spec.Path;

    private static readonly Dictionary<string, Command> ByName = BuildIndex();

    private static Dictionary<string, Command> BuildIndex()
    {
        var map = new Dictionary<string, Command>(StringComparer.Ordinal);
        foreach (var c in All)
        {
            map[c.Spec.Path] = c;
            foreach (var a in c.Spec.Aliases ?? [])
            {
                map[a] = c;
            }
        }
        return map;
    }

    // Finds the command named by the first one or two words; the spec's Path becomes the name used, so
    // messages say "berth container ls" or "berth ps" as typed.
    public static (Command? Command, int Consumed) Find(IReadOnlyList<string> words)
    {
        if (words.Count >= 2 && ByName.TryGetValue(words[0] + " " + words[1], out var two))
        {
            return (Rename(two, words[0] + " " + words[1]), 2);
        }
        if (ByName.TryGetValue(words[0], out var one))
        {
            return (Rename(one, words[0]), 1);
        }
        return (null, 0);
    }

    private static Command Rename(Command c, string name)
    {
        var tail = UsageTail(c.Spec);
        return c with { Spec = c.Spec with { Path = name, Usage = $"berth {name}{tail}" } };
    }

    // The part of the usage after the command name ("[OPTIONS] IMAGE ...").
    private static string UsageTail(CommandSpec spec)
    {
        var usage = spec.Usage["berth ".Length..];
        var canonicalNames = (spec.Aliases ?? []).Append(spec.Path).OrderByDescending(n => n.Length);
        foreach (var n in canonicalNames)
        {
            if (usage.StartsWith(n, StringComparison.Ordinal))
            {
                return usage[n.Length..];
            }
        }
        return "";
    }
}
