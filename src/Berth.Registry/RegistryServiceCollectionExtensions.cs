using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Berth.Registry;

/// <summary>How a host (berth-registry, or a daemon) adds the registry: <c>AddBerthRegistry</c>, then <c>MapBerthRegistry</c>.</summary>
public static class RegistryServiceCollectionExtensions
{
    public static IServiceCollection AddBerthRegistry(this IServiceCollection services, RegistryOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(sp => new RegistryService(options, sp.GetService<TimeProvider>()));
        services.AddSingleton<RegistryEndpoints>();
        services.AddHostedService<UploadJanitor>();
        services.AddHostedService<GcService>();
        return services;
    }

    /// <summary>Serves <c>/v2/</c>; everything else answers 404 with the registry's API version header.</summary>
    public static IApplicationBuilder MapBerthRegistry(this IApplicationBuilder app)
    {
        var endpoints = app.ApplicationServices.GetRequiredService<RegistryEndpoints>();
        app.Map("/v2", b => b.Run(endpoints.HandleAsync));
        app.Map("/token", b => b.Run(endpoints.TokenAsync));
        app.Run(ctx =>
        {
            // "/v2/../x" arrives here as "/x" (Kestrel resolves dot segments): the endpoints refuse it as a name.
            var raw = ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? "";
            if (raw.StartsWith("/v2/", StringComparison.Ordinal)) return endpoints.HandleAsync(ctx);
            ctx.Response.Headers[RegistryEndpoints.ApiVersionHeader] = "registry/2.0";
            ctx.Response.StatusCode = 404;
            return Task.CompletedTask;
        });
        return app;
    }
}
