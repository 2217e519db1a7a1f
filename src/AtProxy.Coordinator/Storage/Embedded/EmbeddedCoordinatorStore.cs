using System.Buffers;
using AtProxy.Coordinator.Storage.Records;
using Microsoft.Extensions.Logging;

namespace AtProxy.Coordinator.Storage.Embedded;

/// <summary>
/// The durable single-node store: an append-only log in the data directory (see
/// <see cref="LogFormat"/>). One writer, on a thread of its own, takes every record queued
/// meanwhile, writes them in one go and flushes them to disk once (group commit), then applies
/// them in order and releases their callers. When the log outgrows its threshold, the writer replaces it with
/// a new generation holding one snapshot record per live transaction.
/// </summary>
internal sealed class EmbeddedCoordinatorStore : CoordinatorStoreBase
{
    /// <summary>Records beyond this size wait for the next batch (the torn-tail bound of recovery).</summary>
    public const int MaxBatchBytes = 4 * 1024 * 1024;
    private const int MaxBatchRecords = 8192;

    private readonly string _directory;
    private readonly long _compactionThreshold;
    private readonly ILogger _logger;
    private readonly WriterQueue<PendingWrite> _queue = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private FileStream? _lockFile;
    private FileStream? _log;
    private long _generation;
    private long _snapshotBytes;
    private Thread? _writer;
    // The writer thread's end, awaited by DisposeAsync.
    private readonly TaskCompletionSource _writerStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile Exception? _fault;
    private long _flushes;
    private long _recordsWritten;

    public EmbeddedCoordinatorStore(string directory, long compactionThreshold, ILogger<EmbeddedCoordinatorStore> logger)
    {
        _directory = Path.GetFullPath(directory);
        _compactionThreshold = compactionThreshold;
        _logger = logger;
    }

    public override string Kind => "embedded";

    public override bool IsHealthy => _fault is null && _log is not null;

    /// <summary>The data directory, as a full path.</summary>
    public string DataDirectory => _directory;

    /// <summary>The current log file (for tests and diagnostics).</summary>
    public string? CurrentLogPath => _log?.Name;

    /// <summary>How many compactions ran since the store was opened.</summary>
    public int Compactions { get; private set; }

    /// <summary>How many flushes to disk the writer made (one per batch) since the store was opened.</summary>
    public long Flushes => Interlocked.Read(ref _flushes);

    /// <summary>How many records the writer made durable since the store was opened.</summary>
    public long RecordsWritten => Interlocked.Read(ref _recordsWritten);

    public override Task OpenAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_directory);
        _lockFile = LockDirectory();
        foreach (var leftover in Directory.GetFiles(_directory, "coordinator-*.log.tmp"))
        {
            // A compaction that did not finish: the previous generation is still complete.
            File.Delete(leftover);
        }
        var generations = Directory.GetFiles(_directory, "coordinator-*.log")
            .Select(path => (path, ok: LogFormat.TryParseGeneration(Path.GetFileName(path), out var generation), generation))
            .Where(x => x.ok)
            .OrderBy(x => x.generation)
            .ToList();

        if (generations.Count == 0)
        {
            _generation = 1;
            var path = Path.Combine(_directory, LogFormat.FileName(_generation));
            using (var created = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
            {
                created.Write(LogFormat.Header(_generation));
                created.Flush(flushToDisk: true);
            }
            DirectorySync.Flush(_directory);
            _log = OpenForAppend(path, LogFormat.HeaderSize);
            _snapshotBytes = LogFormat.HeaderSize;
            Log.StoreCreated(_logger, path);
        }
        else
        {
            var (path, _, generation) = generations[^1];
            _generation = generation;
            var started = DateTime.UtcNow;
            var result = LogReader.Read(path, generation, MaxBatchBytes, State.Apply);
            if (result.TornTail is not null)
            {
                Log.TornTailDropped(_logger, path, result.FileLength - result.ValidLength, result.TornTail);
            }
            _log = OpenForAppend(path, result.ValidLength);
            _snapshotBytes = result.ValidLength;
            foreach (var (older, _, _) in generations.Take(generations.Count - 1))
            {
                // A compaction that finished its new generation but not the removal of the old one.
                File.Delete(older);
            }
            Log.StoreRecovered(_logger, path, result.Records, State.Sessions.Count, State.Locks.Count, (DateTime.UtcNow - started).TotalMilliseconds);
        }
        _writer = new Thread(RunWriter) { IsBackground = true, Name = "AtProxy store writer" };
        _writer.Start();
        return Task.CompletedTask;
    }

    protected override Task PersistAsync(StoreRecord record, Action apply)
    {
        if (_fault is { } fault)
        {
            return Task.FromException(new StoreUnavailableException("The embedded store stopped accepting changes after a failed write.", fault));
        }
        var pending = new PendingWrite(record, apply, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.TryAdd(pending))
        {
            return Task.FromException(new StoreUnavailableException("The embedded store is closed."));
        }
        return pending.Done!.Task;
    }

    protected override Task PersistWithNextAsync(StoreRecord record, Action apply)
    {
        if (_fault is { } fault)
        {
            return Task.FromException(new StoreUnavailableException("The embedded store stopped accepting changes after a failed write.", fault));
        }
        apply();
        // Queued in order: any later record of this transaction is flushed with or after it.
        return _queue.TryAdd(new PendingWrite(record, static () => { }, Done: null))
            ? Task.CompletedTask
            : Task.FromException(new StoreUnavailableException("The embedded store is closed."));
    }

    private void RunWriter()
    {
        try
        {
            WriteLoop();
            _writerStopped.TrySetResult();
        }
        catch (Exception ex)
        {
            _writerStopped.TrySetException(ex);
        }
    }

    private void WriteLoop()
    {
        var waiting = new Queue<PendingWrite>(256);
        var batch = new List<PendingWrite>(256);
        // Records left over by the size bounds go first, before taking more.
        while (waiting.Count > 0 || _queue.TakeAll(ref waiting))
        {
            batch.Clear();
            _buffer.ResetWrittenCount();
            while (batch.Count < MaxBatchRecords && _buffer.WrittenCount < MaxBatchBytes && waiting.TryDequeue(out var pending))
            {
                LogFormat.Write(pending.Record, _buffer);
                batch.Add(pending);
            }

            if (_fault is not null)
            {
                Fail(batch, _fault);
                continue;
            }
            try
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                _log!.Write(_buffer.WrittenSpan);
                _log.Flush(flushToDisk: true);
                Metrics?.StoreWritten(Kind, started);
                Interlocked.Increment(ref _flushes);
                Interlocked.Add(ref _recordsWritten, batch.Count);
            }
            catch (Exception ex)
            {
                // After a failed write or flush the file's content is unknown: stop accepting changes.
                _fault = ex;
                Log.StoreWriteFailed(_logger, ex, _log?.Name ?? _directory);
                Fail(batch, ex);
                continue;
            }

            foreach (var pending in batch)
            {
                try
                {
                    pending.Apply();
                    pending.Done?.TrySetResult();
                }
                catch (Exception ex)
                {
                    Log.ApplyFailed(_logger, ex, pending.Record.KindCase.ToString());
                    pending.Done?.TrySetException(ex);
                }
            }

            if (_log.Length > _compactionThreshold && _log.Length > 4 * _snapshotBytes)
            {
                try
                {
                    Compact();
                }
                catch (Exception ex)
                {
                    // The current generation is intact and still appended to; try again later.
                    Log.CompactionFailed(_logger, ex, _directory);
                    _snapshotBytes = _log.Length;
                }
            }
        }
    }

    /// <summary>Writes the whole state as a new generation, then switches to it. Runs on the writer, between batches.</summary>
    private void Compact()
    {
        var started = DateTime.UtcNow;
        var next = _generation + 1;
        var finalPath = Path.Combine(_directory, LogFormat.FileName(next));
        var tempPath = finalPath + ".tmp";
        long sessions = 0;
        using (var file = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
        {
            file.Write(LogFormat.Header(next));
            var buffer = new ArrayBufferWriter<byte>(64 * 1024);
            // The reservation too: a sequence answered but not yet in a flushed record must never come back.
            var sequence = Math.Max(State.LastTransactionSequence, State.ReservedTransactionSequence);
            LogFormat.Write(new StoreRecord
            {
                Counters = new CountersSnapshot { LastTransactionSequence = sequence, LastBranchId = State.LastBranchId, LastInterventionId = State.Interventions.LastId },
            }, buffer);
            foreach (var session in State.Sessions)
            {
                LogFormat.Write(CoordinatorState.SnapshotOf(session), buffer);
                sessions++;
                WriteOutFull(file, buffer);
            }
            // The audit outlives the transactions it names: its entries are carried on by themselves.
            foreach (var intervention in State.Interventions.Snapshot())
            {
                LogFormat.Write(new StoreRecord { Intervention = intervention }, buffer);
                WriteOutFull(file, buffer);
            }
            file.Write(buffer.WrittenSpan);
            file.Flush(flushToDisk: true);
        }
        File.Move(tempPath, finalPath);
        DirectorySync.Flush(_directory);
        Diagnostics.CrashPoints.Reach(Diagnostics.CrashPoints.CompactionSwitched);

        var oldPath = _log!.Name;
        var oldLength = _log.Length;
        _log.Dispose();
        _log = OpenForAppend(finalPath, new FileInfo(finalPath).Length);
        _generation = next;
        _snapshotBytes = _log.Length;
        File.Delete(oldPath);
        DirectorySync.Flush(_directory);
        Compactions++;
        Log.Compacted(_logger, oldLength, _log.Length, sessions, (DateTime.UtcNow - started).TotalMilliseconds);
    }

    private static void WriteOutFull(FileStream file, ArrayBufferWriter<byte> buffer)
    {
        if (buffer.WrittenCount > 1 << 20)
        {
            file.Write(buffer.WrittenSpan);
            buffer.ResetWrittenCount();
        }
    }

    private static void Fail(List<PendingWrite> batch, Exception fault)
    {
        var error = new StoreUnavailableException("The embedded store could not make a change durable.", fault);
        foreach (var pending in batch)
        {
            pending.Done?.TrySetException(error);
        }
    }

    private FileStream LockDirectory()
    {
        var path = Path.Combine(_directory, "coordinator.lock");
        try
        {
            // FileShare.None takes an exclusive advisory lock on Unix; the kernel drops it when the process dies.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"The data directory {_directory} is in use by another coordinator (could not lock {path}).", ex);
        }
    }

    private static FileStream OpenForAppend(string path, long validLength)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
        if (stream.Length != validLength)
        {
            stream.SetLength(validLength);
            stream.Flush(flushToDisk: true);
        }
        stream.Seek(validLength, SeekOrigin.Begin);
        return stream;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_log is not null && _fault is null)
        {
            try
            {
                // The server has stopped: nothing begins any more, so the next start may resume right after the last XID.
                await ReleaseReservationAsync().ConfigureAwait(false);
            }
            catch (StoreUnavailableException)
            {
                // The reservation stays: the next start resumes above it, which is safe.
            }
        }
        _queue.Complete();
        if (_writer is not null)
        {
            await _writerStopped.Task.ConfigureAwait(false);
        }
        _log?.Dispose();
        _lockFile?.Dispose();
    }

    private sealed record PendingWrite(StoreRecord Record, Action Apply, TaskCompletionSource? Done);
}
