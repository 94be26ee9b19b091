using System.Runtime.InteropServices;

namespace UnsubscribeSync.Benchmarks.Harness;

/// <summary>The machine a run happened on, so figures can be compared across runs.</summary>
public sealed record MachineInfo(int Cores, string Memory, string Os, string Runtime, string Cpu)
{
    public static MachineInfo Current()
    {
        return new MachineInfo(
            Environment.ProcessorCount,
            ReadMemTotal() ?? $"{GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024):0.0} GiB (GC view)",
            RuntimeInformation.OSDescription,
            $"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.ProcessArchitecture})",
            ReadCpuModel() ?? RuntimeInformation.ProcessArchitecture.ToString());
    }

    private static string? ReadCpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo")
                .Where(l => l.StartsWith("model name", StringComparison.Ordinal))
                .Select(l => l[(l.IndexOf(':') + 1)..].Trim())
                .FirstOrDefault();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? ReadMemTotal()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var kb = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            return kb is null ? null : $"{long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) / (1024.0 * 1024):0.0} GiB";
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
