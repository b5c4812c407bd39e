using System.Globalization;
using System.Text.Json;
using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm.Rest;

/// <summary>v0.0.41 (Slurm 24.05, 24.11, 25.05): top-level <c>script</c> deprecated (this package never sends it); otherwise as v0.0.40 for the fields used here.</summary>
internal sealed class RestDialectV0041 : RestDialectV004x
{
    public override string Version => "v0.0.41";
}
