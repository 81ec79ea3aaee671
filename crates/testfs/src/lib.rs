//! A FUSE file system for power-loss tests. It keeps everything in memory and models a
//! power cut exactly: what was not fsynced is gone afterwards, file data and directory
//! entries alike (see [`model`] for the rules). It owns the mount API; it never touches
//! a real disk.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! let dir = std::path::Path::new("/tmp/data");
//! let fs = tidelog_testfs::TestFs::new();
//! let mount = fs.mount(dir)?;
//! // ... run the program under test on `dir`, kill -9 it ...
//! mount.unmount()?; // also clears the kernel's page cache for these files
//! fs.power_cut();
//! let mount = fs.mount(dir)?; // only what was durable is there
//! # drop(mount); Ok(()) }
//! ```
//!
//! Mounting needs `/dev/fuse` and the right to call mount(2) (root, or CAP_SYS_ADMIN);
//! [`fuse_available`] says whether this machine has both, so tests can skip with a reason.

mod error;
mod fuse;
pub mod model;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

pub use error::FsError;
use fuse::FuseAdapter;
pub use model::Model;

/// A handle on one in-memory file system; clones share it. Outlives its mounts, which is
/// what lets a test unmount, cut the power and mount the survivors again.
#[derive(Clone, Default)]
pub struct TestFs {
    model: Arc<Mutex<Model>>,
    /// One mount at a time: a second session would void the first one's handles.
    mounted: Arc<AtomicBool>,
}

impl TestFs {
    pub fn new() -> TestFs {
        TestFs::default()
    }

    /// Mounts the file system on `mountpoint` (an existing directory) until the returned
    /// [`Mount`] is unmounted or dropped.
    pub fn mount(&self, mountpoint: &Path) -> io::Result<Mount> {
        if self.mounted.swap(true, Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "the test fs is already mounted"));
        }
        let mounted = self.mount_session(mountpoint);
        if mounted.is_err() {
            self.mounted.store(false, Ordering::SeqCst);
        }
        mounted
    }

    fn mount_session(&self, mountpoint: &Path) -> io::Result<Mount> {
        // A new kernel session: references and handles of an earlier one are void.
        self.model.lock().detach_kernel();
        let mut config = fuser::Config::default();
        config.mount_options = vec![
            fuser::MountOption::FSName("tidelog-testfs".into()),
            fuser::MountOption::Subtype("tidelog-testfs".into()),
        ];
        let adapter = FuseAdapter::new(self.model.clone());
        let session = fuser::spawn_mount(adapter, mountpoint, &config).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot mount the test fs on {}: {e}", mountpoint.display()))
        })?;
        let path = mountpoint.canonicalize()?;
        Ok(Mount { session: Some(session), path, fs: self.clone() })
    }

    /// Cuts the power: every file and directory reverts to what was last fsynced, and
    /// what is then unreachable is gone. Unmount first: a mounted kernel would go on
    /// serving its cached pages and names.
    pub fn power_cut(&self) {
        self.model.lock().power_cut();
    }

    /// Direct access to the model, to inspect or prepare state without going through
    /// the kernel.
    pub fn with_model<R>(&self, f: impl FnOnce(&mut Model) -> R) -> R {
        f(&mut self.model.lock())
    }
}

/// A mounted [`TestFs`]. Dropping it unmounts, lazily if files are still open.
pub struct Mount {
    session: Option<fuser::BackgroundSession>,
    path: PathBuf,
    fs: TestFs,
}

impl Mount {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Unmounts and waits for the session to end. Fails with EBUSY while a process
    /// still has files open here; the mount then stays and is unmounted on drop.
    pub fn unmount(mut self) -> io::Result<()> {
        self.unmount_now()
    }

    fn unmount_now(&mut self) -> io::Result<()> {
        let Some(session) = self.session.take() else { return Ok(()) };
        if let Err(e) = rustix::mount::unmount(&self.path, rustix::mount::UnmountFlags::empty()) {
            self.session = Some(session);
            return Err(io::Error::new(
                io::Error::from(e).kind(),
                format!("cannot unmount {}: {e}", self.path.display()),
            ));
        }
        // The kernel ended the connection, so the session thread ends: with ENODEV
        // (which fuser takes as the normal end) or, when requests were still pending,
        // with ECONNABORTED, which is the same end.
        let joined = match session.join() {
            Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => Ok(()),
            other => other,
        };
        self.fs.model.lock().detach_kernel();
        self.fs.mounted.store(false, Ordering::SeqCst);
        joined
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        if self.unmount_now().is_err() {
            // Still busy (a test failed with its processes running): detach it so the
            // mount point is free. The session is left to end on its own once the last
            // open file closes, rather than hang here; forgotten, because dropping it
            // would try to unmount the path again, maybe a newer mount there by then.
            // The file system stays marked mounted: that session may still serve.
            if let Some(session) = self.session.take() {
                let _ = rustix::mount::unmount(&self.path, rustix::mount::UnmountFlags::DETACH);
                std::mem::forget(session);
            }
        }
    }
}

/// Whether FUSE file systems can be mounted here: `Ok` or the reason they cannot
/// (no `/dev/fuse`, mount refused). Tried once per process.
pub fn fuse_available() -> Result<(), String> {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    AVAILABLE.get_or_init(try_mount).clone()
}

fn try_mount() -> Result<(), String> {
    if !Path::new("/dev/fuse").exists() {
        return Err("/dev/fuse does not exist".into());
    }
    let dir = std::env::temp_dir().join(format!("tidelog-testfs-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let probe = TestFs::new().mount(&dir).map_err(|e| e.to_string()).and_then(|mount| {
        let seen = std::fs::metadata(mount.path()).map_err(|e| format!("the mounted probe cannot be read: {e}"));
        let unmounted = mount.unmount().map_err(|e| e.to_string());
        seen.and(unmounted)
    });
    let _ = std::fs::remove_dir(&dir);
    probe
}
