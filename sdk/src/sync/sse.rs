//! A small `text/event-stream` parser (the WHATWG "event stream
//! interpretation"), fed with body chunks as they arrive.
//!
//! Why not `eventsource-stream`: it hides comment lines, and our silence
//! timeout must see the server's `: heartbeat` comments to know the stream
//! is alive; and it buffers without limit, while a client must bound the
//! memory a misbehaving peer can make it use ([`SseParser::new`]'s limit).
//!
//! Owns: SSE framing (generic, no Switchyard event names). Must not touch:
//! what events mean (`connection`).

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// One parsed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SseItem {
    /// A dispatched event.
    Event(SseEvent),
    /// A comment line (`: heartbeat`): proof of life, no content.
    Comment,
    /// The server's `retry:` reconnection delay.
    Retry(Duration),
}

/// A dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `event:` name (`message` when absent).
    pub(crate) event: String,
    /// The `id:` of this event, if it set one.
    pub(crate) id: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub(crate) data: String,
}

/// The peer sent a line or event larger than the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("server-sent event larger than {0} bytes")]
pub(crate) struct TooLarge(pub(crate) usize);

/// Incremental parser state.
#[derive(Debug)]
pub(crate) struct SseParser {
    /// Bytes of the current, unterminated line.
    line: Vec<u8>,
    /// The last byte seen was `\r`: a following `\n` belongs to it.
    after_cr: bool,
    /// Whether the start-of-stream BOM check is done.
    started: bool,
    event: String,
    data: String,
    id: Option<String>,
    /// Upper bound on a line and on an event's accumulated data.
    limit: usize,
}

impl SseParser {
    /// A parser that rejects lines or events over `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        SseParser {
            line: Vec::new(),
            after_cr: false,
            started: false,
            event: String::new(),
            data: String::new(),
            id: None,
            limit,
        }
    }

    /// Feeds one chunk; complete items are appended to `out`.
    pub(crate) fn push(&mut self, mut chunk: &[u8], out: &mut VecDeque<SseItem>) -> Result<(), TooLarge> {
        if !self.started {
            // Wait for three bytes (or a chunk that cannot start a BOM).
            self.line.extend_from_slice(chunk);
            if self.line.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.line) {
                return Ok(());
            }
            self.started = true;
            let buffered = std::mem::take(&mut self.line);
            let rest = buffered.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buffered);
            return self.push(rest, out);
        }
        if chunk.is_empty() {
            return Ok(());
        }
        if self.after_cr && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        self.after_cr = false;
        while let Some(end) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.extend_line(&chunk[..end])?;
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out)?;
            self.line = line;
            self.line.clear();
            let is_cr = chunk[end] == b'\r';
            chunk = &chunk[end + 1..];
            if is_cr {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.extend_line(chunk)
    }

    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), TooLarge> {
        if self.line.len() + bytes.len() > self.limit {
            return Err(TooLarge(self.limit));
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process_line(&mut self, line: &[u8], out: &mut VecDeque<SseItem>) -> Result<(), TooLarge> {
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line[0] == b':' {
            out.push_back(SseItem::Comment);
            return Ok(());
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (&*line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.data.len() + value.len() + 1 > self.limit {
                    return Err(TooLarge(self.limit));
                }
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse::<u64>() {
                    out.push_back(SseItem::Retry(Duration::from_millis(ms)));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut VecDeque<SseItem>) {
        let id = self.id.take();
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop(); // the trailing '\n'
        let event = if event.is_empty() { "message".to_owned() } else { event };
        out.push_back(SseItem::Event(SseEvent { event, id, data }));
    }
}

/// Why reading the stream failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The connection failed.
    #[error("stream read failed: {0}")]
    Body(#[from] reqwest::Error),
    /// The peer exceeded the size limit.
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
}

/// Pulls [`SseItem`]s out of a response body.
pub(crate) struct SseReader<S> {
    body: S,
    parser: SseParser,
    pending: VecDeque<SseItem>,
}

impl<S> SseReader<S>
where
    S: Stream<Item = Result<Bytes, reqwest::Error>> + Unpin,
{
    /// A reader over `body` with a per-event size limit.
    pub(crate) fn new(body: S, limit: usize) -> Self {
        SseReader { body, parser: SseParser::new(limit), pending: VecDeque::new() }
    }

    /// The next item; `Ok(None)` when the server ended the stream.
    pub(crate) async fn next(&mut self) -> Result<Option<SseItem>, ReadError> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            match self.body.next().await {
                Some(chunk) => self.parser.push(&chunk?, &mut self.pending)?,
                None => return Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<SseItem> {
        let mut p = SseParser::new(1024);
        let mut out = VecDeque::new();
        for c in chunks {
            p.push(c, &mut out).unwrap();
        }
        out.into()
    }

    fn ev(event: &str, id: Option<&str>, data: &str) -> SseItem {
        SseItem::Event(SseEvent { event: event.into(), id: id.map(Into::into), data: data.into() })
    }

    #[test]
    fn parses_the_switchyard_frames() {
        let stream = b"retry: 1000\n\nevent: snapshot\nid: 7\ndata: {\"revision\":7}\n\n: heartbeat\n\n\
                       event: change\nid: 8\ndata: {\"revision\":8}\n\n";
        assert_eq!(
            parse_chunks(&[stream]),
            [
                SseItem::Retry(Duration::from_millis(1000)),
                ev("snapshot", Some("7"), "{\"revision\":7}"),
                SseItem::Comment,
                ev("change", Some("8"), "{\"revision\":8}"),
            ]
        );
    }

    #[test]
    fn every_split_point_and_line_ending_gives_the_same_items() {
        let variants: [&[u8]; 3] = [
            b"\xEF\xBB\xBFevent: change\nid: 1\ndata: a\ndata:b\n\ndata: c\n\n",
            b"\xEF\xBB\xBFevent: change\r\nid: 1\r\ndata: a\r\ndata:b\r\n\r\ndata: c\r\n\r\n",
            b"\xEF\xBB\xBFevent: change\rid: 1\rdata: a\rdata:b\r\rdata: c\r\r",
        ];
        let want = [ev("change", Some("1"), "a\nb"), ev("message", None, "c")];
        for bytes in variants {
            for split in 0..bytes.len() {
                let (a, b) = bytes.split_at(split);
                assert_eq!(parse_chunks(&[a, b]), want, "split at {split} of {:?}", String::from_utf8_lossy(bytes));
            }
            let single: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(parse_chunks(&single), want);
        }
    }

    #[test]
    fn ignores_unknown_fields_empty_events_and_bad_retry() {
        let items = parse_chunks(&[b"foo: bar\nretry: soon\nevent: x\n\ndata\n\nid\n\n"]);
        // `data` with no colon is an empty data line: an event with "" data.
        assert_eq!(items, [ev("message", None, "")]);
    }

    #[test]
    fn bounds_lines_and_events() {
        let mut p = SseParser::new(16);
        let mut out = VecDeque::new();
        assert_eq!(p.push(&[b'x'; 17], &mut out), Err(TooLarge(16)));
        let mut p = SseParser::new(16);
        let r = p.push(b"data: 0123456\ndata: 0123456\ndata: 0123456\n", &mut out);
        assert_eq!(r, Err(TooLarge(16)));
    }
}
