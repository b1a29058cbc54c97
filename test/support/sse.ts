/** Server-sent events as a test reads them: each frame's event name, id and JSON data. */

export interface SseEvent {
  event: string;
  id?: string;
  data: any;
}

/** Reads a server-sent event stream; `onEvent` sees each event as it arrives. Resolves when the server ends it. */
export async function readEvents(res: Response, onEvent: (e: SseEvent) => void): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const e: SseEvent = { event: 'message', data: '' };
      for (const line of frame.split('\n')) {
        const [field, ...rest] = line.split(':');
        const value = rest.join(':').replace(/^ /, '');
        if (field === 'event') e.event = value;
        else if (field === 'id') e.id = value;
        else if (field === 'data') e.data += value;
      }
      e.data = JSON.parse(e.data as string);
      events.push(e);
      onEvent(e);
    }
  }
  return events;
}
