using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace AtProxy.Coordinator.Tests.Support;

/// <summary>
/// The requests an in-process coordinator started serving, from ASP.NET Core's own
/// <c>http.server.active_requests</c> counter of that coordinator's meter factory: a test can
/// wait until its call has reached the coordinator instead of sleeping and hoping it has. Only
/// starts are counted: the end of a call answered before watching began may still be recorded
/// after it, so the running total would not say which calls are in flight.
/// </summary>
public sealed class ServerRequests : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _started;

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
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            if (value > 0)
            {
                Interlocked.Add(ref _started, value);
            }
        });
        _listener.Start();
    }

    /// <summary>Requests started since watching began.</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>Starts counting; only requests that start afterwards are seen.</summary>
    public static ServerRequests Watch(InProcessCoordinator coordinator) => new(coordinator.Services.GetRequiredService<IMeterFactory>());

    public void Dispose() => _listener.Dispose();
}
