using System.Net;
using Microsoft.Extensions.Options;
using MimeKit;

namespace CompGrid.Notifications.Email;

/// <summary>How the connection to the SMTP server is secured.</summary>
public enum SmtpSecurity
{
    /// <summary>Upgrade with STARTTLS and fail if the server does not offer it (port 587).</summary>
    StartTls,

    /// <summary>TLS from the first byte (port 465).</summary>
    SslOnConnect,

    /// <summary>No TLS. Allowed only without credentials, for a relay on the same host or a test server.</summary>
    None,
}

/// <summary>Options of the e-mail notifier.</summary>
public sealed class EmailNotifierOptions
{
    /// <summary>The SMTP server's host name or address (the operator's relay: trusted, so not checked like webhooks).</summary>
    /// <value>The default is empty, which fails validation.</value>
    public string Host { get; set; } = "";

    /// <summary>The SMTP server's port.</summary>
    /// <value>The default is 587 (submission with STARTTLS).</value>
    public int Port { get; set; } = 587;

    /// <summary>How the connection is secured.</summary>
    /// <value>The default is <see cref="SmtpSecurity.StartTls"/>.</value>
    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTls;

    /// <summary>The sender, for example <c>CompGrid &lt;compgrid@hpc.example.edu&gt;</c>.</summary>
    /// <value>The default is empty, which fails validation.</value>
    public string From { get; set; } = "";

    /// <summary>The user name to authenticate with, or null for none.</summary>
    /// <value>The default is null.</value>
    public string? UserName { get; set; }

    /// <summary>The password for <see cref="UserName"/> (keep it in a secret store).</summary>
    /// <value>The default is null.</value>
    public string? Password { get; set; }

    /// <summary>How long one SMTP command may take.</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Domains recipients must belong to (for example <c>example.edu</c>, which also admits its subdomains); empty admits any.</summary>
    /// <value>The default is empty.</value>
    public IList<string> AllowedRecipientDomains { get; set; } = [];

    /// <summary>Text put before each subject.</summary>
    /// <value>The default is <c>[CompGrid]</c>.</value>
    public string SubjectPrefix { get; set; } = "[CompGrid]";
}

/// <summary>Checks <see cref="EmailNotifierOptions"/>; used by DI (<c>ValidateOnStart</c>) and by <see cref="EmailNotifier.Create"/> alike.</summary>
public sealed class EmailNotifierOptionsValidator : IValidateOptions<EmailNotifierOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, EmailNotifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Host) || Uri.CheckHostName(options.Host) == UriHostNameType.Unknown)
            errors.Add("Host must be the SMTP server's host name or address.");
        if (options.Port is < 1 or > 65535) errors.Add("Port must be between 1 and 65535.");
        if (!EmailAddresses.TryParseMailbox(options.From, out _)) errors.Add($"From must be one e-mail address such as compgrid@hpc.example.edu (got '{options.From}').");
        if (options.Security == SmtpSecurity.None && !string.IsNullOrEmpty(options.UserName))
            errors.Add("Security None cannot be combined with UserName: the credentials would cross the network in clear text.");
        if (string.IsNullOrEmpty(options.UserName) != string.IsNullOrEmpty(options.Password)) errors.Add("UserName and Password must be given together.");
        if (options.Timeout <= TimeSpan.Zero || options.Timeout > TimeSpan.FromMinutes(5)) errors.Add("Timeout must be more than 0 and at most 5 minutes.");
        foreach (var d in options.AllowedRecipientDomains ?? [])
            if (string.IsNullOrWhiteSpace(d) || Uri.CheckHostName(d) != UriHostNameType.Dns) errors.Add($"AllowedRecipientDomains: '{d}' is not a domain name.");
        if ((options.SubjectPrefix ?? "").IndexOfAny(['\r', '\n']) >= 0) errors.Add("SubjectPrefix must not contain line breaks.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static void ThrowIfInvalid(EmailNotifierOptions options)
    {
        var result = new EmailNotifierOptionsValidator().Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(Options.DefaultName, typeof(EmailNotifierOptions), result.Failures);
    }
}

/// <summary>The one place e-mail addresses are parsed: exactly one mailbox, no line breaks, at most 254 characters.</summary>
internal static class EmailAddresses
{
    public static bool TryParseMailbox(string? text, out MailboxAddress mailbox)
    {
        mailbox = null!;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 320 || text.IndexOfAny(['\r', '\n', '\0']) >= 0) return false;
        if (!MailboxAddress.TryParse(ParserOptions.Default, text, out var parsed) || parsed is null) return false;
        var address = parsed.Address;
        int at = address.LastIndexOf('@');
        if (address.Length > 254 || at <= 0 || at == address.Length - 1) return false;
        if (Uri.CheckHostName(address[(at + 1)..]) != UriHostNameType.Dns && !IPAddress.TryParse(address[(at + 1)..].Trim('[', ']'), out _)) return false;
        mailbox = parsed;
        return true;
    }

    public static bool InAllowedDomain(MailboxAddress mailbox, IList<string> domains)
    {
        if (domains.Count == 0) return true;
        string domain = mailbox.Domain;
        return domains.Any(d => string.Equals(domain, d, StringComparison.OrdinalIgnoreCase) || domain.EndsWith("." + d, StringComparison.OrdinalIgnoreCase));
    }
}
