using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace AtProxy.Load.Measurements;

/// <summary>
/// The coordinator's own histogram <c>atproxy.coordinator.lock.hold.duration</c> for one
/// resource, read from the coordinator process the way <c>dotnet-counters</c> reads it: an
/// EventPipe session on the runtime's diagnostic port with the built-in
/// <c>System.Diagnostics.Metrics</c> event source, which aggregates the histogram inside the
/// coordinator and publishes its p50/p95/p99 once per refresh interval. The interval is set to
/// the whole measured run plus a settle margin, so the one publication covers exactly the holds
/// released from <see cref="Start"/> until then: the run and its phase-2 tail. Nothing is added
/// to the coordinator's API; the cost inside it is one aggregation per released branch.
/// </summary>
internal sealed class CoordinatorLockHolds(int coordinatorPid, string resourceId) : ILockHoldMeasurement
{
    private const string MetricsSource = "System.Diagnostics.Metrics";
    private const string Instrument = "atproxy.coordinator.lock.hold.duration";

    /// <summary>Time after the run for phase 2 to let go of the last locks before the histogram is published.</summary>
    public static readonly TimeSpan SettleMargin = TimeSpan.FromSeconds(4);

    private EventPipeSession? _session;
    private Task? _reading;
    private TaskCompletionSource<LockHoldTimes?> _published = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TimeSpan _interval;

    public void Start(TimeSpan run)
    {
        _interval = run + SettleMargin;
        _published = new TaskCompletionSource<LockHoldTimes?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sessionId = Guid.NewGuid().ToString("N");
        var provider = new EventPipeProvider(MetricsSource, EventLevel.Informational, keywords: 0x3, arguments: new Dictionary<string, string>
        {
            ["SessionId"] = sessionId,
            ["Metrics"] = $"AtProxy.Coordinator\\{Instrument}",
            ["RefreshInterval"] = _interval.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture),
            ["MaxTimeSeries"] = "100",
            ["MaxHistograms"] = "20",
        });
        _session = new DiagnosticsClient(coordinatorPid).StartEventPipeSession(provider, requestRundown: false);
        var source = new EventPipeEventSource(_session.EventStream);
        var started = Stopwatch.GetTimestamp();
        source.Dynamic.All += e =>
        {
            if (e.ProviderName != MetricsSource || e.PayloadByName("sessionId") as string != sessionId)
            {
                return;
            }
            switch (e.EventName)
            {
                case "HistogramValuePublished" when e.PayloadByName("instrumentName") as string == Instrument
                    && (e.PayloadByName("tags") as string ?? "").Split(',').Contains($"resource={resourceId}")
                    && Stopwatch.GetElapsedTime(started) > _interval / 2: // the interval's publication, not an earlier one
                    _published.TrySetResult(Parse(e));
                    break;
                case "Error" or "MultipleSessionsNotSupportedError" or "MultipleSessionsConfiguredIncorrectlyError" or "HistogramLimitReached" or "TimeSeriesLimitReached":
                    _published.TrySetException(new InvalidOperationException($"{e.EventName}: {e.FormattedMessage ?? e.ToString()}"));
                    break;
            }
        };
        _reading = Task.Run(source.Process);
    }

    public async Task<LockHoldTimes?> StopAsync(Action<string> problem)
    {
        try
        {
            return await _published.Task.WaitAsync(_interval + TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            problem($"the coordinator's lock hold histogram was not read: {ex.Message}");
            return null;
        }
        finally
        {
            await StopSessionAsync();
        }
    }

    private async Task StopSessionAsync()
    {
        if (_session is null)
        {
            return;
        }
        try
        {
            await _session.StopAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or IOException or TimeoutException)
        {
            // The coordinator is gone; the stream ends by itself.
        }
        if (_reading is not null)
        {
            await _reading.WaitAsync(TimeSpan.FromSeconds(10));
        }
        _session.Dispose();
        _session = null;
    }

    // quantiles: "0.5=1.23;0.95=4.5;0.99=7.8" in the instrument's unit (seconds, or ms from older
    // coordinators); count when the runtime publishes it.
    private static LockHoldTimes Parse(TraceEvent e)
    {
        var toMs = e.PayloadByName("unit") as string == "s" ? 1000.0 : 1.0;
        var quantiles = (e.PayloadByName("quantiles") as string ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('='))
            .ToDictionary(pair => pair[0], pair => double.Parse(pair[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);
        var count = e.PayloadNames.Contains("count") ? Convert.ToInt64(e.PayloadByName("count"), CultureInfo.InvariantCulture) : -1;
        return new LockHoldTimes(count, quantiles.GetValueOrDefault("0.5") * toMs, quantiles.GetValueOrDefault("0.99") * toMs);
    }
}
