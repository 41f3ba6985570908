// Watches the config file for edits and calls back once per burst of changes (editors write in several
// steps, or replace the file by rename, so the folder is watched and events are debounced).
// It must not parse the file: the caller reloads and decides what to keep.
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

export interface ConfigWatcher {
  close(): void;
}

export function watchConfigFile(options: {
  file: string;
  debounceMs?: number;
  onChange: () => void;
  onError?: (error: unknown) => void;
}): ConfigWatcher {
  const debounceMs = options.debounceMs ?? 150;
  if (!(debounceMs >= 0)) throw new RangeError('debounceMs must be >= 0');
  const file = path.resolve(options.file);
  const base = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const fire = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) options.onChange();
    }, debounceMs);
  };

  const watcher: FSWatcher = watch(path.dirname(file), { persistent: false }, (_event, name) => {
    // Some platforms omit the name; then any change in the folder may be ours.
    if (name === null || name === base) fire();
  });
  watcher.on('error', (error) => options.onError?.(error));

  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      watcher.close();
    },
  };
}
