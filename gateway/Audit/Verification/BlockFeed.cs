using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using AuditGateway.Audit.Hashing;
using AuditGateway.Audit.Storage;

namespace AuditGateway.Audit.Verification;

/// <summary>
/// Reads the log into <see cref="LineBlock"/>s on a thread of its own, a few blocks ahead, so that
/// reading and decompressing the next block overlap checking this one. Blocks go round: the
/// verifier takes a filled block, checks it and gives it back to be filled again.
/// </summary>
internal sealed class BlockFeed : IDisposable
{
    /// <summary>One being walked, one being checked, one filled and waiting, one being filled.</summary>
    private const int Blocks = 4;

    private readonly LogReader _reader;
    private readonly BlockingCollection<LineBlock> _free = new(Blocks);
    private readonly BlockingCollection<LineBlock> _filled = new(Blocks);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private ExceptionDispatchInfo? _failure;

    public BlockFeed(LogReader reader, ISha256 sha)
    {
        _reader = reader;
        for (var i = 0; i < Blocks; i++)
        {
            _free.Add(new LineBlock(sha));
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "verify-read" };
        _thread.Start();
    }

    /// <summary>
    /// The next block in order; null after the last, or when reading failed (see <see cref="ThrowIfFailed"/>):
    /// the blocks read before are checked first, as when reading and checking took turns.
    /// </summary>
    public LineBlock? Take() => _filled.TryTake(out var block, Timeout.Infinite) ? block : null;

    /// <summary>After <see cref="Take"/> returned null: rethrows what reading threw, if it threw.</summary>
    public void ThrowIfFailed() => _failure?.Throw();

    /// <summary>Hands a block taken with <see cref="Take"/> back to be filled again.</summary>
    public void Return(LineBlock block) => _free.Add(block);

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
        _free.Dispose();
        _filled.Dispose();
    }

    private void Run()
    {
        try
        {
            var more = true;
            while (more)
            {
                var block = _free.Take(_stop.Token);
                block.Clear();
                while (!block.IsFull && (more = _reader.Read()))
                {
                    if (_reader.Unterminated)
                    {
                        block.Unterminated = (_reader.Segment, _reader.InLastSegment, _reader.Line.Length, _reader.FirstInSegment);
                        more = false;
                        break;
                    }

                    block.Add(_reader);
                }

                _filled.Add(block, _stop.Token);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The verifier stopped early (it found a bad entry).
        }
        catch (Exception e)
        {
            // Thrown again on the verifier's thread, where reading on one thread would have thrown it.
            _failure = ExceptionDispatchInfo.Capture(e);
        }
        finally
        {
            _filled.CompleteAdding();
        }
    }
}
