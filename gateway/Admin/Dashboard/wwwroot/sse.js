// Server-Sent Events over fetch(): EventSource cannot send an Authorization header, and the token must
// never be put in a URL. The stream resumes after the last event seen with Last-Event-ID.

/** Reads an SSE body and calls onEvent({id, event, data}) for each event (WHATWG HTML, "Parsing an event stream"). */
export async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let data = [];
  let id = null;
  let name = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (;;) {
      const end = buffer.search(/[\r\n]/);
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      if (end < 0 || (buffer[end] === '\r' && end === buffer.length - 1)) break;
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer[end] === '\r' && buffer[end + 1] === '\n' ? 2 : 1));
      if (line === '') {
        if (data.length > 0) onEvent({ id, event: name || 'message', data: data.join('\n') });
        data = [];
        name = '';
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') data.push(text);
        else if (field === 'event') name = text;
        else if (field === 'id' && !text.includes('\0')) id = text;
      }
    }
  }
}

/**
 * Follows an event stream until signal aborts: connects with headers() (and Last-Event-ID once an event
 * was seen or one is given), reads events, and reconnects after a drop (1 s, then up to 10 s apart).
 * onState('open' | 'retrying', detail) reports the connection; a 401 or 403 ends it through onRefused(response).
 */
export async function follow(url, { headers, lastEventId = null, onEvent, onState, onRefused, signal }) {
  let last = lastEventId;
  let delay = 1000;
  while (!signal.aborted) {
    try {
      const sent = headers();
      if (last !== null) sent['Last-Event-ID'] = String(last);
      const response = await fetch(url, { headers: sent, signal, cache: 'no-store', credentials: 'omit' });
      if (response.status === 401 || response.status === 403) {
        onRefused(response);
        return;
      }
      if (!response.ok) throw new Error(`${response.status} ${(await response.text()).trim()}`);
      onState('open');
      delay = 1000;
      await readEvents(response.body, (event) => {
        if (event.id !== null) last = event.id;
        onEvent(event);
      });
      if (!signal.aborted) onState('retrying', 'the stream ended');
    } catch (error) {
      if (signal.aborted) return;
      onState('retrying', error.message);
    }
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, delay);
      signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
    delay = Math.min(delay * 2, 10_000);
  }
}
