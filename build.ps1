#!/usr/bin/env pwsh
<#
.SYNOPSIS
    AtProxy's one entry point: build, test, run the demo, the benchmarks or the coordinator.

.DESCRIPTION
    Run through the repository's local PowerShell so a fresh machine needs only the .NET SDK:
        dotnet tool restore && dotnet pwsh ./build.ps1 test
    Stops at the first failing step with a non-zero exit code.

.PARAMETER Target
    build        compile the solution (warnings are errors)
    test         build, then run every test against a real PostgreSQL and print the totals
    demo         run the order/inventory demo
    chaos        run the fault campaign: -Runs N runs (default 10) from -Seed S (default: a new
                 one, printed); each kills a service or coordinator at a protocol point or at a
                 random moment, restarts it and checks consistency; exits non-zero on a violation
    bench        run the load driver that compares AtProxy with local and XA transactions
                 (-Quick for a short run); the report goes to benchmarks/results/
    coordinator  run the coordinator server (e.g. --urls http://127.0.0.1:8091 --Coordinator:AdminToken=...)
    pack         build the NuGet packages (AtProxy, AtProxy.Protocol, AtProxy.AspNetCore,
                 AtProxy.EntityFrameworkCore) and the tools AtProxy.Cli (atproxy) and
                 AtProxy.Coordinator (atproxy-coordinator), with symbols, into artifacts/packages
    clean        remove build output and test results

    Every word the script does not take itself goes to the program unchanged, including settings
    such as --Coordinator:AdminToken=x, and the script exits with the program's exit code (130
    when it was stopped with Ctrl+C).

.PARAMETER Configuration
    Release (default) or Debug.

.PARAMETER NoBuild
    demo, bench, coordinator: run the last build instead of building first.

.PARAMETER PackageVersion
    pack: the packages' version (default: VersionPrefix in Directory.Build.props, e.g. 0.1.0).

.PARAMETER PackageOutput
    pack: where the packages go (default: artifacts/packages).
#>
[CmdletBinding(PositionalBinding = $false)]
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'demo', 'chaos', 'bench', 'coordinator', 'pack', 'clean')]
    [string] $Target = 'build',

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # bench: a short run (a few seconds per mode and workload) instead of the full one.
    [switch] $Quick,

    # demo, bench, coordinator: run what was built last instead of building first.
    [switch] $NoBuild,

    # pack: the packages' version and where they go.
    [string] $PackageVersion,
    [string] $PackageOutput,

    # chaos: how many runs, and the first run's seed (run i uses Seed + i; replays a run).
    [ValidateRange(1, [int]::MaxValue)]
    [int] $Runs = 10,
    [Nullable[int]] $Seed,

    # Passed through to the program a target runs (demo, chaos, bench, coordinator).
    [Parameter(ValueFromRemainingArguments = $true)]
    [string[]] $Rest = @()
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$PSNativeCommandUseErrorActionPreference = $false
$root = $PSScriptRoot
$solution = Join-Path $root 'AtProxy.sln'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
$env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'

function Invoke-Step([string] $Title, [scriptblock] $Command) {
    Write-Host "==> $Title" -ForegroundColor Cyan
    & $Command
    if ($LASTEXITCODE -ne 0) {
        Write-Host "FAILED: $Title (exit code $LASTEXITCODE)" -ForegroundColor Red
        exit $LASTEXITCODE
    }
}

function Invoke-Build {
    Invoke-Step "build ($Configuration)" { dotnet build $solution -c $Configuration -nologo -clp:NoSummary }
}

function Get-ProjectPath([string] $RelativePath) {
    $path = Join-Path $root $RelativePath
    if (-not (Test-Path $path)) { return $null }
    return $path
}

# Sums the counters of every .trx file so the totals of all test projects are one line.
function Get-TestTotals([string] $ResultsDirectory) {
    $totals = [ordered]@{ total = 0; passed = 0; failed = 0; skipped = 0 }
    foreach ($file in Get-ChildItem -Path $ResultsDirectory -Filter *.trx -Recurse) {
        [xml] $trx = Get-Content -Raw -LiteralPath $file.FullName
        $counters = $trx.TestRun.ResultSummary.Counters
        $totals.total += [int] $counters.total
        $totals.passed += [int] $counters.passed
        $totals.failed += [int] $counters.failed + [int] $counters.error + [int] $counters.timeout + [int] $counters.aborted
        $totals.skipped += [int] $counters.notExecuted
    }
    return $totals
}

# Repeats each failed test with the start of its message after the run, so the end of a long CI
# log says which test failed and why without searching the console output above it.
function Write-FailedTests([string] $ResultsDirectory) {
    foreach ($file in Get-ChildItem -Path $ResultsDirectory -Filter *.trx -Recurse) {
        [xml] $trx = Get-Content -Raw -LiteralPath $file.FullName
        # A run whose filter matched nothing has no Results element.
        foreach ($result in @($trx.SelectNodes("//*[local-name()='UnitTestResult']"))) {
            if ($null -eq $result -or $result.outcome -ne 'Failed') { continue }
            Write-Host "Failed: $($result.testName) ($($result.duration))" -ForegroundColor Red
            $message = "$($result.Output.ErrorInfo.Message)"
            $stack = "$($result.Output.ErrorInfo.StackTrace)"
            foreach ($line in (($message + "`n" + $stack) -split "`n" | Where-Object { $_.Trim() } | Select-Object -First 12)) {
                Write-Host "    $($line.TrimEnd())"
            }
        }
    }
}

# An ephemeral cluster still running after its test process has exited means a fixture failed
# to clean up. Clusters of processes still alive (another test run on this machine) are theirs.
function Assert-NoLeftoverClusters {
    if (-not $IsLinux) { return }
    $left = @()
    foreach ($dir in Get-ChildItem -Path ([IO.Path]::GetTempPath()) -Directory -Filter 'atproxy-pg-*' -ErrorAction SilentlyContinue) {
        $owner = ($dir.Name -split '-')[2]
        if (Test-Path "/proc/$owner") { continue }
        $left += @(& pgrep -f ([regex]::Escape($dir.FullName)) 2>$null)
    }
    if ($left.Count -gt 0) {
        Write-Host "FAILED: PostgreSQL test clusters were left running (pids $($left -join ', '))." -ForegroundColor Red
        exit 1
    }
}

function Invoke-Tests {
    Invoke-Build
    $results = Join-Path $root 'artifacts/test-results'
    if (Test-Path $results) { Remove-Item -Recurse -Force $results }
    Write-Host '==> test' -ForegroundColor Cyan
    # A hung test must not hold CI for its whole budget: dump and fail it instead.
    # The packaging test restores and builds a copy of the sources and a new application: it runs on
    # its own afterwards, so its NuGet restores do not contend with the other projects' processes.
    $packaging = 'FullyQualifiedName~AtProxy.Packaging.Tests'
    dotnet test $solution -c $Configuration --no-build -nologo --filter "FullyQualifiedName!~AtProxy.Packaging.Tests" `
        --results-directory $results --logger 'trx' --logger 'console;verbosity=normal' `
        --blame-hang-timeout 10m
    $testExit = $LASTEXITCODE
    dotnet test (Join-Path $root 'tests/AtProxy.Packaging.Tests/AtProxy.Packaging.Tests.csproj') -c $Configuration --no-build -nologo `
        --filter $packaging --results-directory $results --logger 'trx' --logger 'console;verbosity=normal' `
        --blame-hang-timeout 10m
    if ($LASTEXITCODE -ne 0) { $testExit = $LASTEXITCODE }
    $t = Get-TestTotals $results
    Write-Host ''
    Write-FailedTests $results
    Write-Host "Tests: $($t.passed) passed, $($t.failed) failed, $($t.skipped) skipped (of $($t.total))"
    Assert-NoLeftoverClusters
    if ($testExit -ne 0 -or $t.failed -gt 0) {
        Write-Host 'FAILED: tests failed.' -ForegroundColor Red
        exit ([Math]::Max(1, $testExit))
    }
    if ($t.total -eq 0) {
        Write-Host 'FAILED: no test ran.' -ForegroundColor Red
        exit 1
    }
    if ($t.skipped -gt 0) {
        # Every test must run against the real servers; a skip hides a missing dependency.
        Write-Host 'FAILED: tests were skipped; every test must run.' -ForegroundColor Red
        exit 1
    }
}

# The words for the program, exactly as they were typed. PowerShell splits a word such as
# --Coordinator:AdminToken=x into '--Coordinator' and 'AdminToken=x' when it binds the script's
# parameters, so $Rest alone would change the program's command line. When the script is the
# process's own script (dotnet pwsh ./build.ps1 ..., pwsh -File, ./build.ps1 from a shell) the words
# are taken from the process's command line instead: each word of $Rest is matched to the word it
# came from, and the words this script took for itself are left out.
function Get-ProgramArguments {
    $commandLine = [Environment]::GetCommandLineArgs()
    $self = -1
    for ($i = 0; $i -lt $commandLine.Count; $i++) {
        try {
            if ([IO.Path]::GetFullPath($commandLine[$i]) -eq $PSCommandPath) { $self = $i; break }
        } catch [ArgumentException] { }
    }
    if ($self -lt 0) { return , $Rest }   # run from inside a PowerShell session: its words as bound
    $typed = @($commandLine | Select-Object -Skip ($self + 1))
    $result = [Collections.Generic.List[string]]::new()
    $next = 0
    foreach ($word in $typed) {
        if ($next -lt $Rest.Count -and $word -ceq $Rest[$next]) {
            $result.Add($word); $next++
            continue
        }
        $colon = $word.IndexOf(':')
        if ($word.StartsWith('-') -and $colon -gt 0 -and $next + 1 -lt $Rest.Count -and
            $word.Substring(0, $colon) -ceq $Rest[$next] -and $word.Substring($colon + 1) -ceq $Rest[$next + 1]) {
            $result.Add($word); $next += 2
        }
        # Anything else was the target or one of this script's own parameters.
    }
    if ($next -ne $Rest.Count) { return , $Rest }
    return , $result.ToArray()
}

# Runs a program in the foreground and exits with its exit code. On Ctrl+C the terminal interrupts
# the program too; PowerShell would then stop this script at once and exit 0 without waiting, so
# the program is started as a .NET process and, when the script is being stopped, the finally
# block waits for it to finish cleaning up and ends the process with the program's exit code.
function Invoke-Foreground([string] $Title, [string] $FileName, [string[]] $Arguments) {
    Write-Host "==> $Title" -ForegroundColor Cyan
    $start = [Diagnostics.ProcessStartInfo]::new($FileName)
    foreach ($argument in $Arguments) { $start.ArgumentList.Add($argument) }
    $start.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($start)
    $finished = $false
    try {
        # Short waits, so a Ctrl+C is noticed between them and the finally block below runs.
        while (-not $process.WaitForExit(200)) { }
        $process.WaitForExit()
        $finished = $true
    }
    finally {
        if (-not $finished) {
            $process.WaitForExit()
            [Environment]::Exit($process.ExitCode)
        }
    }
    if ($process.ExitCode -ne 0) {
        Write-Host "FAILED: $Title (exit code $($process.ExitCode))" -ForegroundColor Red
    }
    exit $process.ExitCode
}

function Invoke-Program([string] $RelativeProject, [string] $What, [string[]] $Leading = @()) {
    $project = Get-ProjectPath $RelativeProject
    if ($null -eq $project) {
        Write-Host "The $What ($RelativeProject) is not part of this version of AtProxy yet." -ForegroundColor Yellow
        exit 1
    }
    $arguments = @('run', '--project', $project, '-c', $Configuration)
    if ($NoBuild) { $arguments += '--no-build' }
    $arguments += '--'
    # An empty $Leading can arrive as $null (PowerShell unrolls an empty array): it must add no word.
    if ($Leading) { $arguments += $Leading }
    $arguments += (Get-ProgramArguments)
    Invoke-Foreground "run $What" 'dotnet' $arguments
}

function Invoke-Pack {
    $output = if ($PackageOutput) { [IO.Path]::GetFullPath($PackageOutput) } else { Join-Path $root 'artifacts/packages' }
    $properties = @('-p:ContinuousIntegrationBuild=true')
    if ($PackageVersion) { $properties += "-p:Version=$PackageVersion" }
    Invoke-Step "pack ($Configuration) into $output" {
        dotnet pack (Join-Path $root 'eng/packages.slnf') -c $Configuration -o $output -nologo -clp:NoSummary @properties
    }
    Get-ChildItem -Path $output -Filter *.nupkg | ForEach-Object { Write-Host "  $($_.Name)" }
}

switch ($Target) {
    'build' { Invoke-Build }
    'test' { Invoke-Tests }
    'demo' {
        # -Seed is this script's own parameter (chaos takes it too), so it is handed on by name.
        $leading = if ($PSBoundParameters.ContainsKey('Seed')) { @('--seed', "$Seed") } else { @() }
        Invoke-Program 'src/AtProxy.Demo' 'demo' $leading
    }
    'chaos' {
        $leading = @('chaos', '--runs', "$Runs") + $(if ($null -ne $Seed) { @('--seed', "$Seed") } else { @() })
        Invoke-Program 'src/AtProxy.Demo' 'fault campaign' $leading
    }
    'bench' {
        $leading = if ($Quick) { @('--quick') } else { @() }
        Invoke-Program 'benchmarks/AtProxy.Load' 'load benchmark' $leading
    }
    'coordinator' { Invoke-Program 'src/AtProxy.Coordinator' 'coordinator' }
    'pack' { Invoke-Pack }
    'clean' {
        Invoke-Step 'clean' { dotnet clean $solution -c $Configuration -nologo -v quiet }
        foreach ($dir in Get-ChildItem -Path $root -Directory -Recurse -Include bin, obj -ErrorAction SilentlyContinue) {
            Remove-Item -Recurse -Force $dir.FullName
        }
        $artifacts = Join-Path $root 'artifacts'
        if (Test-Path $artifacts) { Remove-Item -Recurse -Force $artifacts }
        Write-Host 'Clean.'
    }
}
exit 0
