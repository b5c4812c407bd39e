#:property PublishAot=false
#:property ManagePackageVersionsCentrally=false
#:project ../../src/CompGrid.Scheduling/CompGrid.Scheduling.csproj
#:project ../../src/CompGrid.Local/CompGrid.Local.csproj
#:project ../../src/CompGrid.Storage.Sqlite/CompGrid.Storage.Sqlite.csproj
#:project ../../src/CompGrid.Billing/CompGrid.Billing.csproj
#:project ../../src/CompGrid.Billing.Sqlite/CompGrid.Billing.Sqlite.csproj

// Billing story: a grant, a quote before the job, the hold while it runs, the exact charge after, the statement.
//   dotnet run samples/scripts/billing.cs [command line]
using CompGrid;
using CompGrid.Billing;
using CompGrid.Billing.Sqlite;
using Microsoft.Extensions.DependencyInjection;

string command = args.Length > 0 ? string.Join(' ', args) : "echo computing; sleep 1";
string state = Path.Combine(Path.GetTempPath(), "compgrid-billing-script-" + Environment.ProcessId);
Directory.CreateDirectory(state);
string database = Path.Combine(state, "compgrid.db");

// 1 credit per CPU-second, whole credits: the sample host's rate card.
var billing = GrantBilling.Create(SqliteBilling.CreateStore(new SqliteBillingStoreOptions { DatabasePath = database }), o =>
{
    o.MinorUnits["CRD"] = 0;
    o.RateCards.Add(new RateCard { Currency = "CRD", Rules = { new RateRule { CpuCoreHour = 3600m } } });
});
await using var grid = CompGridEngine.Create(b => b
    .AddLocalBackend("local", o => o.StateDirectory = Path.Combine(state, "local"))
    .UseSqliteStore(database)
    .AddAdmissionCheck(billing.AdmissionCheck)
    .AddUsageSink(billing.UsageSink));
await grid.StartAsync();

string owner = Environment.UserName;
await billing.CreateGrantAsync(new Grant { Code = "demo-lab", Title = "Demo lab", PrincipalInvestigator = owner, Currency = "CRD", Budget = 10_000m }, "script");

var spec = new JobSpec
{
    Name = "billing-demo", Owner = owner, Account = "demo-lab", Payload = JobPayload.Command(command),
    Resources = new ResourceRequest { Cpus = 2 }, Walltime = TimeSpan.FromMinutes(2),
};
var quote = await billing.QuoteAsync(spec);
Console.WriteLine($"quote: {quote.Amount} {quote.Currency} at most (2 CPUs × 120 s walltime); spendable {quote.Spendable}");

var job = await grid.SubmitAsync(spec);
var held = await billing.GetBalanceAsync("demo-lab");
Console.WriteLine($"held while it runs: {held.Held} {held.Currency}");
var done = await job.WaitForCompletionAsync();
Console.WriteLine($"job {done.Id}: {done.State}, exit {done.ExitCode}");

// The charge follows the usage the engine observed; wait for it to reach the ledger.
Statement statement;
var until = DateTimeOffset.UtcNow.AddSeconds(30);
do
{
    statement = await billing.GetStatementAsync("demo-lab", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    if (statement.Charges.Count > 0 || DateTimeOffset.UtcNow > until) break;
    await Task.Delay(200);
} while (true);

var balance = await billing.GetBalanceAsync("demo-lab");
Console.WriteLine($"charged: {statement.TotalCharges} {statement.Currency}; balance {balance.Balance}, held {balance.Held}");
foreach (var user in statement.ByUser) Console.WriteLine($"  {user.User}: {user.Jobs} job(s), {user.Hours} h, {user.Amount} {statement.Currency}");
string csv = Path.Combine(state, "demo-lab-statement.csv");
File.WriteAllText(csv, statement.ToCsv());
Console.WriteLine($"statement: {csv}");
return statement.Charges.Count == 1 && balance.Held == 0 ? 0 : 1;
