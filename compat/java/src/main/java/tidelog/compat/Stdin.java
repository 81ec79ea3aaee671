package tidelog.compat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** How a long-running scenario learns to stop: the test closes its stdin. */
final class Stdin {
    private Stdin() {}

    /** Runs {@code action} on a daemon thread once stdin reaches its end (or fails). */
    static void onClose(Runnable action) {
        Thread watcher = new Thread(() -> {
            try (InputStream in = System.in) {
                in.transferTo(OutputStream.nullOutputStream());
            } catch (IOException e) {
                // stdin is gone either way
            }
            action.run();
        }, "stdin-watcher");
        watcher.setDaemon(true);
        watcher.start();
    }
}
