// The embedded portal: a small ASP.NET Core app that composes CompGrid (docs/embedding.md walks through it).
// Run it: dotnet run --project samples/CompGrid.EmbeddedPortal, then
//   curl -H 'X-Api-Key: alice-demo-key' -H 'Content-Type: application/json' \
//        -d '{"executable":"/bin/echo","arguments":["hi"],"minutes":5}' http://127.0.0.1:5080/jobs
using CompGrid.EmbeddedPortal;

var app = Portal.Build(WebApplication.CreateBuilder(args));
app.Run();
