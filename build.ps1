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
    coordinator  run the coordinator server; arguments after -- go to it
    clean        remove build output and test results

.PARAMETER Configuration
    Release (default) or Debug.
#>
[CmdletBinding(PositionalBinding = $false)]
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'demo', 'chaos', 'bench', 'coordinator', 'clean')]
    [string] $Target = 'build',

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # bench: a short run (a few seconds per mode and workload) instead of the full one.
    [switch] $Quick,

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
        foreach ($result in @($trx.TestRun.Results.UnitTestResult)) {
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
    dotnet test $solution -c $Configuration --no-build -nologo `
        --results-directory $results --logger 'trx' --logger 'console;verbosity=normal' `
        --blame-hang-timeout 10m
    $testExit = $LASTEXITCODE
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

function Invoke-Program([string] $RelativeProject, [string] $What) {
    $project = Get-ProjectPath $RelativeProject
    if ($null -eq $project) {
        Write-Host "The $What ($RelativeProject) is not part of this version of AtProxy yet." -ForegroundColor Yellow
        exit 1
    }
    Invoke-Step "run $What" { dotnet run --project $project -c $Configuration -- @Rest }
}

switch ($Target) {
    'build' { Invoke-Build }
    'test' { Invoke-Tests }
    'demo' {
        if ($PSBoundParameters.ContainsKey('Seed')) { $Rest = @('--seed', "$Seed") + $Rest }
        Invoke-Program 'src/AtProxy.Demo' 'demo'
    }
    'chaos' {
        $Rest = @('chaos', '--runs', "$Runs") + $(if ($null -ne $Seed) { @('--seed', "$Seed") } else { @() }) + $Rest
        Invoke-Program 'src/AtProxy.Demo' 'fault campaign'
    }
    'bench' {
        if ($Quick) { $Rest = @('--quick') + $Rest }
        Invoke-Program 'benchmarks/AtProxy.Load' 'load benchmark'
    }
    'coordinator' { Invoke-Program 'src/AtProxy.Coordinator' 'coordinator' }
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
