global using CompGrid.Testing;

[assembly: Xunit.TestFramework("CompGrid.Testing.BackendTestFramework", "CompGrid.Testing")]
