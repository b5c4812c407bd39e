@{
    RootModule           = 'CompGrid.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0d6c1e-3b7a-4c8e-9a55-2f1f6f7d9c41'
    Author               = 'CompGrid contributors'
    CompanyName          = 'CompGrid'
    Copyright            = 'Copyright (c) CompGrid contributors'
    Description          = 'Submit, watch and bill CompGrid jobs from PowerShell: an in-process engine from a configuration file, or a portal over HTTP.'
    PowerShellVersion    = '7.6'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('CompGrid.PowerShell.Format.ps1xml')
    CmdletsToExport      = @(
        'Connect-CompGrid', 'Disconnect-CompGrid',
        'Submit-CompGridJob', 'Get-CompGridJob', 'Wait-CompGridJob', 'Stop-CompGridJob', 'Get-CompGridJobLog', 'Approve-CompGridJob',
        'Get-CompGridNode', 'Get-CompGridGrant', 'Get-CompGridStatement', 'Get-CompGridQuote'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('hpc', 'slurm', 'scheduler', 'batch', 'research-computing', 'billing')
            LicenseUri = 'https://example.invalid/compgrid/compgrid/LICENSE'
            ProjectUri = 'https://example.invalid/compgrid/compgrid'
        }
    }
}
