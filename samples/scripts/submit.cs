#:property PublishAot=false
#:property ManagePackageVersionsCentrally=false
#:project ../../src/CompGrid.Scheduling/CompGrid.Scheduling.csproj
#:project ../../src/CompGrid.Local/CompGrid.Local.csproj
#:project ../../src/CompGrid.Storage.Sqlite/CompGrid.Storage.Sqlite.csproj

// Submits one job to the Local backend, waits for it and prints its output.
//   dotnet run samples/scripts/submit.cs [command line]
using CompGrid;
using Microsoft.Extensions.DependencyInjection;

string command = args.Length > 0 ? string.Join(' ', args) : "echo hello from CompGrid; uname -s";
string state = Path.Combine(Path.GetTempPath(), "compgrid-submit-script");

await using var grid = CompGridEngine.Create(b => b
    .AddLocalBackend("local", o => o.StateDirectory = Path.Combine(state, "local"))
    .UseSqliteStore(Path.Combine(state, "compgrid.db")));
await grid.StartAsync();

var job = await grid.SubmitAsync(new JobSpec
{
    Name = "script-demo",
    Owner = Environment.UserName,
    Payload = JobPayload.Command(command),
    Walltime = TimeSpan.FromMinutes(5),
});
Console.Error.WriteLine($"submitted {job.Id}");
var done = await job.WaitForCompletionAsync();
var logs = await job.GetLogsAsync();
Console.Write(logs.StandardOutput);
Console.Error.Write(logs.StandardError);
Console.Error.WriteLine($"{done.Id} {done.State} exit={done.ExitCode}");
return done.State == JobState.Completed ? 0 : 1;
