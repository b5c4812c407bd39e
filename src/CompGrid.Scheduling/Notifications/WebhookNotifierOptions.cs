using System.Net;
using Microsoft.Extensions.Options;

namespace CompGrid;

/// <summary>Options of the webhook notifier.</summary>
public sealed class WebhookNotifierOptions
{
    /// <summary>An address that receives every notification, besides each job's own <see cref="NotificationSettings.Webhook"/>.</summary>
    /// <value>The default is null.</value>
    public Uri? Url { get; set; }

    /// <summary>
    /// The shared secret the <see cref="WebhookSignature.HeaderName"/> header is made with (at least 32 characters); give
    /// it to each receiver out of band. Keep it in a secret store, not in a checked-in file.
    /// </summary>
    /// <value>The default is null, which fails validation: webhooks are always signed.</value>
    public string? SigningSecret { get; set; }

    /// <summary>How long one request may take, connection included.</summary>
    /// <value>The default is 10 seconds.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Networks (CIDR, for example <c>10.20.0.0/16</c> or <c>127.0.0.1/32</c>) that webhooks may reach although they are
    /// loopback, private, link-local, shared (CGNAT), multicast, unspecified or reserved. Public addresses are always
    /// allowed. The check is made on the address the host name resolves to, and the connection goes to that address.
    /// </summary>
    /// <value>The default is empty: only public addresses.</value>
    public IList<string> AllowedNetworks { get; set; } = [];
}

/// <summary>Checks <see cref="WebhookNotifierOptions"/>; used by DI (<c>ValidateOnStart</c>) and by <see cref="WebhookNotifier.Create"/> alike.</summary>
public sealed class WebhookNotifierOptionsValidator : IValidateOptions<WebhookNotifierOptions>
{
    /// <summary>The shortest accepted <see cref="WebhookNotifierOptions.SigningSecret"/>.</summary>
    public const int MinimumSecretLength = 32;

    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, WebhookNotifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.Url is { } url && (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(url.UserInfo)))
            errors.Add("Url must be an absolute http or https URL without user information.");
        if (string.IsNullOrEmpty(options.SigningSecret) || options.SigningSecret.Length < MinimumSecretLength)
            errors.Add($"SigningSecret is required and must have at least {MinimumSecretLength} characters.");
        if (options.Timeout <= TimeSpan.Zero || options.Timeout > TimeSpan.FromMinutes(5))
            errors.Add("Timeout must be more than 0 and at most 5 minutes.");
        foreach (var cidr in options.AllowedNetworks ?? [])
            if (!IPNetwork.TryParse(cidr, out _)) errors.Add($"AllowedNetworks: '{cidr}' is not a CIDR network such as 10.0.0.0/8 or fd00::/8.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static void ThrowIfInvalid(WebhookNotifierOptions options)
    {
        var result = new WebhookNotifierOptionsValidator().Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(Options.DefaultName, typeof(WebhookNotifierOptions), result.Failures);
    }
}
