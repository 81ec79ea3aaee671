//! The test file system mounted for real and used through std::fs: what was fsynced
//! (the file and its directory) survives a power cut and remount, nothing else does.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use tidelog_testfs::{fuse_available, TestFs};

fn sync_dir(dir: &Path) {
    // Opening a directory read-only and fsyncing it is FUSE's fsyncdir.
    File::open(dir).unwrap().sync_all().unwrap();
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

#[test]
fn power_cut_keeps_only_what_was_fsynced() {
    if let Err(reason) = fuse_available() {
        eprintln!("skipped: FUSE is not available here: {reason}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let fs = TestFs::new();
    let mount = fs.mount(root).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    assert_eq!(fs.mount(elsewhere.path()).err().map(|e| e.kind()), Some(ErrorKind::AlreadyExists));

    // A directory made durable by fsyncing its parent, holding one durable file.
    fs::create_dir(root.join("kept")).unwrap();
    sync_dir(root);
    let mut durable = OpenOptions::new().create(true).append(true).open(root.join("kept/durable")).unwrap();
    durable.write_all(b"durable").unwrap();
    durable.sync_all().unwrap();
    fs::write(root.join("kept/checkpoint"), b"v1").unwrap();
    File::open(root.join("kept/checkpoint")).unwrap().sync_all().unwrap();
    sync_dir(&root.join("kept"));
    // Then data the file never fsyncs, and a file whose name the directory never fsyncs.
    durable.write_all(b" and lost").unwrap();
    let orphan = File::create(root.join("kept/orphan")).unwrap();
    orphan.write_all_at(b"fsynced, but unnamed", 0).unwrap();
    orphan.sync_data().unwrap();
    // A directory whose parent never fsyncs it, though it and its file are fsynced.
    fs::create_dir(root.join("lost")).unwrap();
    fs::write(root.join("lost/file"), b"x").unwrap();
    File::open(root.join("lost/file")).unwrap().sync_all().unwrap();
    sync_dir(&root.join("lost"));
    // A checkpoint replaced by rename without the directory fsync after it.
    fs::write(root.join("kept/checkpoint.tmp"), b"v2").unwrap();
    File::open(root.join("kept/checkpoint.tmp")).unwrap().sync_all().unwrap();
    fs::rename(root.join("kept/checkpoint.tmp"), root.join("kept/checkpoint")).unwrap();

    // Before the cut everything reads as written, appends at the end.
    assert_eq!(fs::read(root.join("kept/durable")).unwrap(), b"durable and lost");
    let mut read_back = [0u8; 4];
    File::open(root.join("kept/durable")).unwrap().read_exact_at(&mut read_back, 8).unwrap();
    assert_eq!(&read_back, b"and ");
    assert_eq!(fs::read(root.join("kept/checkpoint")).unwrap(), b"v2");
    assert_eq!(names(&root.join("kept")), ["checkpoint", "durable", "orphan"]);
    drop((durable, orphan));

    mount.unmount().unwrap();
    fs.power_cut();
    let mount = fs.mount(root).unwrap();

    assert_eq!(names(root), ["kept"]);
    assert_eq!(names(&root.join("kept")), ["checkpoint", "durable"]);
    assert_eq!(fs::read(root.join("kept/durable")).unwrap(), b"durable");
    assert_eq!(fs::read(root.join("kept/checkpoint")).unwrap(), b"v1");
    assert_eq!(fs::metadata(root.join("lost")).unwrap_err().kind(), ErrorKind::NotFound);

    // The survivors are an ordinary file system again.
    fs::write(root.join("kept/new"), b"new").unwrap();
    assert_eq!(fs::read(root.join("kept/new")).unwrap(), b"new");
    assert_eq!(fs::remove_dir(root.join("kept")).unwrap_err().kind(), ErrorKind::DirectoryNotEmpty);
    mount.unmount().unwrap();
}
