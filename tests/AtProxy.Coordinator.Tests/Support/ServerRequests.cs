using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace AtProxy.Coordinator.Tests.Support;

/// <summary>
/// The requests an in-process coordinator is serving right now, from ASP.NET Core's own
/// <c>http.server.active_requests</c> counter of that coordinator's meter factory: a test can
/// wait until a call is being served (and not answered) instead of sleeping and hoping it is.
/// </summary>
public sealed class ServerRequests : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _inFlight;

    private ServerRequests(IMeterFactory factory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // Only this coordinator's server: other tests run coordinators in the same process.
            if (instrument is { Meter.Name: "Microsoft.AspNetCore.Hosting", Name: "http.server.active_requests" } && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _inFlight, value));
        _listener.Start();
    }

    /// <summary>Requests started and not yet answered since watching began.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    /// <summary>Starts counting; only requests that start afterwards are seen.</summary>
    public static ServerRequests Watch(InProcessCoordinator coordinator) => new(coordinator.Services.GetRequiredService<IMeterFactory>());

    public void Dispose() => _listener.Dispose();
}
