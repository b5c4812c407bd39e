using System.Globalization;
using System.Net.Sockets;
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MimeKit;

namespace CompGrid.Notifications.Email;

/// <summary>
/// Sends each notification as a plain-text e-mail to the job's <see cref="NotificationSettings.Email"/> (validated,
/// and limited to <see cref="EmailNotifierOptions.AllowedRecipientDomains"/> when set) through the configured SMTP
/// server. The Message-ID is derived from the outbox message id, so a retry after a lost answer carries the same
/// Message-ID and mail systems can drop the duplicate. Transient failures (connection, 4xx) throw to be retried by the
/// outbox; permanent ones (5xx, a refused address, authentication) are dead-lettered.
/// </summary>
/// <example><c>builder.AddEmailNotifier(o =&gt; { o.Host = "smtp.example.edu"; o.From = "compgrid@example.edu"; });</c></example>
public sealed class EmailNotifier : IJobNotifier
{
    private readonly EmailNotifierOptions _options;
    private readonly MailboxAddress _from;
    private readonly ILogger _logger;

    /// <summary>Creates the notifier from DI.</summary>
    public EmailNotifier(IOptions<EmailNotifierOptions> options, ILogger<EmailNotifier> logger)
        : this(options?.Value ?? throw new ArgumentNullException(nameof(options)), (ILogger)logger)
    {
    }

    private EmailNotifier(EmailNotifierOptions options, ILogger logger)
    {
        EmailNotifierOptionsValidator.ThrowIfInvalid(options);
        _options = options;
        EmailAddresses.TryParseMailbox(options.From, out _from);
        _logger = logger;
    }

    /// <summary>Creates the notifier without DI; the options are checked by <see cref="EmailNotifierOptionsValidator"/>.</summary>
    public static EmailNotifier Create(EmailNotifierOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new(options, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<EmailNotifier>());
    }

    /// <summary>The notifier's name in the outbox: <c>email</c>.</summary>
    public string Name => "email";

    /// <summary>Whether the job has an e-mail address (a malformed one is refused when sending, with a clear error).</summary>
    public bool Accepts(JobNotification notification) => !string.IsNullOrEmpty(notification?.Job.Spec.Notifications?.Email);

    /// <inheritdoc/>
    public async ValueTask NotifyAsync(JobNotification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var job = notification.Job;
        var to = job.Spec.Notifications?.Email;
        if (!EmailAddresses.TryParseMailbox(to, out var recipient))
            throw Refused(job.Id, $"notifications.email '{to}' is not one valid e-mail address");
        if (!EmailAddresses.InAllowedDomain(recipient, _options.AllowedRecipientDomains))
            throw Refused(job.Id, $"notifications.email '{recipient.Address}' is outside EmailNotifierOptions.AllowedRecipientDomains");

        using var message = Compose(notification, recipient);
        using var client = new SmtpClient { Timeout = (int)Math.Min(int.MaxValue, _options.Timeout.TotalMilliseconds) };
        try
        {
            var security = _options.Security switch
            {
                SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
                SmtpSecurity.None => SecureSocketOptions.None,
                _ => SecureSocketOptions.StartTls,
            };
            await client.ConnectAsync(_options.Host, _options.Port, security, cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(_options.UserName))
                await client.AuthenticateAsync(_options.UserName, _options.Password ?? "", cancellationToken).ConfigureAwait(false);
            await client.SendAsync(message, cancellationToken).ConfigureAwait(false);
            await client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Classify(ex) is { } transient)
        {
            Log.Failed(_logger, job.Id, _options.Host, _options.Port, ex.Message);
            throw new CompGridException($"E-mail for job '{job.Id}' through {_options.Host}:{_options.Port} failed: {ex.Message}", ex)
            { JobId = job.Id, Operation = "email", IsTransient = transient };
        }
        Log.Sent(_logger, notification.MessageId, job.Id, recipient.Address, _options.Host, _options.Port);
    }

    private MimeMessage Compose(JobNotification n, MailboxAddress recipient)
    {
        var job = n.Job;
        var message = new MimeMessage();
        message.From.Add(_from);
        message.To.Add(recipient);
        // Job names are the user's text: no line breaks reach a header.
        string name = OneLine(job.Spec.Name, 120);
        message.Subject = $"{_options.SubjectPrefix} Job {name} ({job.Id}) {job.State}".TrimStart();
        message.Date = n.At;
        string idempotency = n.MessageId ?? $"{job.Id}:v{job.Version.ToString(CultureInfo.InvariantCulture)}";
        message.MessageId = $"{SafeIdPart(idempotency)}@{_from.Domain}"; // the same on every retry
        message.Headers.Add("X-CompGrid-Message-Id", idempotency);
        message.Headers.Add("X-CompGrid-Job-Id", job.Id);
        message.Headers.Add("Auto-Submitted", "auto-generated");
        var body = new StringBuilder()
            .Append("Job:      ").Append(name).Append(" (").Append(job.Id).AppendLine(")")
            .Append("Owner:    ").AppendLine(OneLine(job.Spec.Owner, 120))
            .Append("Account:  ").AppendLine(OneLine(job.Spec.Account ?? "-", 120))
            .Append("State:    ").Append(n.PreviousState?.ToString() ?? "-").Append(" -> ").AppendLine(job.State.ToString())
            .Append("Reason:   ").AppendLine(OneLine(job.Reason ?? "-", 500))
            .Append("Exit code: ").AppendLine(job.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-")
            .Append("At:       ").AppendLine(n.At.ToString("u", CultureInfo.InvariantCulture));
        message.Body = new TextPart("plain") { Text = body.ToString() };
        return message;
    }

    private CompGridException Refused(string jobId, string reason)
    {
        Log.Refused(_logger, jobId, reason);
        return new CompGridException($"E-mail refused: {reason}.") { JobId = jobId, Operation = "email", IsTransient = false };
    }

    // null: not an SMTP failure (let it through); true/false: transient or not.
    private static bool? Classify(Exception ex) => ex switch
    {
        SmtpCommandException c => (int)c.StatusCode is >= 400 and < 500,
        AuthenticationException => false,
        SslHandshakeException => false,
        SmtpProtocolException or ServiceNotConnectedException or ServiceNotAuthenticatedException or SocketException or IOException or TimeoutException => true,
        _ => null,
    };

    private static string OneLine(string text, int max)
    {
        var s = new string((text ?? "").Select(ch => char.IsControl(ch) ? ' ' : ch).ToArray());
        return s.Length <= max ? s : s[..max] + "…";
    }

    private static string SafeIdPart(string id) =>
        new(id.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '.' or '-' or '_' ? ch : '.').ToArray());
}
