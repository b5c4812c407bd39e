using CompGrid;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the notification outbox, its worker and the webhook notifier on the CompGrid builder.</summary>
public static class NotificationCompGridBuilderExtensions
{
    /// <summary>
    /// Adds the notification outbox (kept by the job store, which must implement <see cref="INotificationOutbox"/>) and
    /// its worker, run as a hosted service and started with the engine. <c>AddCompGrid()</c> calls this; call it again
    /// to change the options.
    /// </summary>
    public static ICompGridBuilder AddNotificationOutbox(this ICompGridBuilder builder, Action<NotificationOutboxOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<NotificationOutboxOptions>().ValidateOnStart();
        if (configure is not null) services.Configure(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NotificationOutboxOptions>, NotificationOutboxOptionsValidator>());
        services.TryAddSingleton<INotificationOutbox>(sp => sp.GetRequiredService<IJobStore>() as INotificationOutbox
            ?? throw new CompGridException($"The job store ({sp.GetRequiredService<IJobStore>().GetType().Name}) keeps no notification outbox: use a store that implements INotificationOutbox (SQLite, PostgreSQL, in-memory) or register one.") { Operation = "start" });
        services.TryAddSingleton(sp => new NotificationOutboxWorker(
            sp.GetRequiredService<INotificationOutbox>(),
            sp.GetServices<IJobNotifier>(),
            sp.GetRequiredService<IOptions<NotificationOutboxOptions>>().Value,
            sp.GetRequiredService<ILogger<NotificationOutboxWorker>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new NotificationOutboxWriter(
            sp.GetRequiredService<INotificationOutbox>(),
            sp.GetServices<IJobNotifier>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<NotificationOutboxWriter>>(),
            sp.GetRequiredService<NotificationOutboxWorker>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, NotificationOutboxHostedService>());
        return builder;
    }

    /// <summary>Binds <see cref="NotificationOutboxOptions"/> from a configuration section (for example <c>CompGrid:Notifications:Outbox</c>).</summary>
    public static ICompGridBuilder AddNotificationOutbox(this ICompGridBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<NotificationOutboxOptions>(section);
        return builder.AddNotificationOutbox();
    }

    /// <summary>
    /// Adds the webhook notifier: each job's webhook, plus <see cref="WebhookNotifierOptions.Url"/> when set, signed with
    /// <see cref="WebhookNotifierOptions.SigningSecret"/> (required), delivered through the outbox.
    /// </summary>
    /// <example><c>builder.AddWebhookNotifier(o =&gt; o.SigningSecret = configuration["Webhooks:Secret"]);</c></example>
    public static ICompGridBuilder AddWebhookNotifier(this ICompGridBuilder builder, Action<WebhookNotifierOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<WebhookNotifierOptions>().ValidateOnStart();
        if (configure is not null) builder.Services.Configure(configure);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookNotifierOptions>, WebhookNotifierOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IJobNotifier, WebhookNotifier>());
        return builder;
    }

    /// <summary>Adds the webhook notifier with <see cref="WebhookNotifierOptions"/> bound from a configuration section.</summary>
    public static ICompGridBuilder AddWebhookNotifier(this ICompGridBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<WebhookNotifierOptions>(section);
        return builder.AddWebhookNotifier();
    }
}

/// <summary>Runs the outbox worker with the host.</summary>
internal sealed class NotificationOutboxHostedService(NotificationOutboxWorker worker) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => worker.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => worker.StopAsync(cancellationToken);
}
