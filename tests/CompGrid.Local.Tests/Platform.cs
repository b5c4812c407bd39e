// The Local backend runs jobs on Linux only (setsid, setpriv, /proc, cgroups); so do its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
