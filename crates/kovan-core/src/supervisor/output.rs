//! An instance's output: its pipes read line by line into the ring, the log file and the sink.

use super::*;

impl Supervisor {
    /// Read one output stream line by line into the ring, the log file and batched events.
    pub(super) async fn pump(
        self,
        instance: String,
        stream: Stream,
        pipe: impl AsyncRead + Unpin,
        log_file: Arc<Mutex<Option<LogFile>>>,
    ) {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        let mut batch: Vec<String> = Vec::new();
        let mut flush_at = tokio::time::Instant::now() + OUTPUT_BATCH;
        loop {
            tokio::select! {
                read = reader.read_until(b'\n', &mut buf) => {
                    match read {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let text = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string();
                            buf.clear();
                            if let Some(f) = log_file.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                                let _ = f.write_line(&text);
                            }
                            batch.push(text);
                            if batch.len() >= OUTPUT_BATCH_LINES {
                                self.push_lines(&instance, stream, &std::mem::take(&mut batch));
                                flush_at = tokio::time::Instant::now() + OUTPUT_BATCH;
                            }
                        }
                    }
                }
                _ = tokio::time::sleep_until(flush_at), if !batch.is_empty() => {
                    self.push_lines(&instance, stream, &std::mem::take(&mut batch));
                    flush_at = tokio::time::Instant::now() + OUTPUT_BATCH;
                }
            }
        }
        if !batch.is_empty() {
            self.push_lines(&instance, stream, &batch);
        }
    }

    pub(super) fn push_lines(&self, instance: &str, stream: Stream, texts: &[String]) {
        let lines = {
            let mut slots = self.slots();
            let Some(slot) = slots.get_mut(instance) else {
                return;
            };
            let lines: Vec<LogLine> = texts.iter().map(|t| slot.ring.push(stream, t)).collect();
            slot.subscribers.retain_mut(|s| s(&lines));
            lines
        };
        if self.retired() {
            return;
        }
        (self.inner.sink)(SupervisorEvent::Log {
            instance: instance.to_string(),
            lines,
        });
    }

    pub(super) fn last_lines(&self, instance: &str) -> Vec<String> {
        self.slots()
            .get(instance)
            .map(|s| s.ring.last(LAST_LINES_ON_CRASH))
            .unwrap_or_default()
    }
}
