using CompGrid;
using CompGrid.Notifications.Email;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the e-mail notifier on the CompGrid builder.</summary>
public static class EmailCompGridBuilderExtensions
{
    /// <summary>Adds the e-mail notifier; its messages go through the engine's notification outbox.</summary>
    /// <example>
    /// <code>
    /// services.AddCompGrid().UseSqliteStore("grid.db").AddEmailNotifier(o =&gt;
    /// {
    ///     o.Host = "smtp.example.edu";
    ///     o.From = "CompGrid &lt;compgrid@example.edu&gt;";
    ///     o.AllowedRecipientDomains = ["example.edu"];
    /// });
    /// </code>
    /// </example>
    public static ICompGridBuilder AddEmailNotifier(this ICompGridBuilder builder, Action<EmailNotifierOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<EmailNotifierOptions>().ValidateOnStart();
        if (configure is not null) builder.Services.Configure(configure);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EmailNotifierOptions>, EmailNotifierOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IJobNotifier, EmailNotifier>());
        return builder;
    }

    /// <summary>Adds the e-mail notifier with <see cref="EmailNotifierOptions"/> bound from a configuration section.</summary>
    public static ICompGridBuilder AddEmailNotifier(this ICompGridBuilder builder, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<EmailNotifierOptions>(section);
        return builder.AddEmailNotifier();
    }
}
