global using Microsoft.Extensions.DependencyInjection;
global using CompGrid.Testing;
global using CompGrid.VirtualMachines;

// One TCG VM at a time: two booting at once on a 2-core machine doubles both boots.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
