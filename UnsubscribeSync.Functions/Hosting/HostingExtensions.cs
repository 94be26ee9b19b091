using Microsoft.Extensions.Hosting;

namespace UnsubscribeSync.Functions.Hosting;

public static class HostingExtensions
{
    public static IHostApplicationBuilder AddUnsubscribeSync(this IHostApplicationBuilder builder)
    {
        return builder;
    }
}
