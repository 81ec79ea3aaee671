//! The durability rules and errnos of the model, without FUSE.

use std::ffi::OsStr;

use super::*;

fn name(s: &str) -> &OsStr {
    OsStr::new(s)
}

fn file(m: &mut Model, parent: Ino, n: &str, content: &[u8]) -> Ino {
    let ino = m.create(parent, name(n), Kind::File, 0o644, 0, 0).unwrap().ino;
    m.write(ino, Some(0), content).unwrap();
    ino
}

fn dir(m: &mut Model, parent: Ino, n: &str) -> Ino {
    m.create(parent, name(n), Kind::Dir, 0o755, 0, 0).unwrap().ino
}

fn content(m: &Model, path: &str) -> Option<Vec<u8>> {
    m.resolve(path).map(|ino| m.file_data(ino).unwrap().to_vec())
}

#[test]
fn fsynced_file_in_fsynced_directory_survives() {
    let mut m = Model::new();
    let f = file(&mut m, ROOT, "a", b"hello");
    m.fsync(f).unwrap();
    m.fsync(ROOT).unwrap();
    m.write(f, None, b" world").unwrap();
    m.power_cut();
    assert_eq!(content(&m, "a").as_deref(), Some(&b"hello"[..]));
}

#[test]
fn fsynced_file_whose_entry_was_never_fsynced_is_lost() {
    let mut m = Model::new();
    let f = file(&mut m, ROOT, "a", b"hello");
    m.fsync(f).unwrap();
    m.power_cut();
    assert_eq!(m.resolve("a"), None);
    assert_eq!(m.usage(), Usage { bytes: 0, inodes: 1 });
}

#[test]
fn unsynced_data_and_truncates_revert_to_the_last_fsync() {
    let mut m = Model::new();
    let f = file(&mut m, ROOT, "a", b"0123456789");
    m.fsync(f).unwrap();
    m.fsync(ROOT).unwrap();
    m.setattr(f, SetAttr { size: Some(3), perm: Some(0o600), ..Default::default() }).unwrap();
    m.power_cut();
    let f = m.resolve("a").unwrap();
    assert_eq!(m.file_data(f).unwrap(), b"0123456789");
    assert_eq!(m.stat(f).unwrap().meta.perm, 0o644);
}

#[test]
fn checkpoint_rename_needs_the_directory_fsync() {
    for sync_dir in [false, true] {
        let mut m = Model::new();
        let old = file(&mut m, ROOT, "checkpoint", b"old");
        m.fsync(old).unwrap();
        m.fsync(ROOT).unwrap();
        let tmp = file(&mut m, ROOT, "checkpoint.tmp", b"new");
        m.fsync(tmp).unwrap();
        m.rename(ROOT, name("checkpoint.tmp"), ROOT, name("checkpoint"), false).unwrap();
        assert_eq!(content(&m, "checkpoint").as_deref(), Some(&b"new"[..]));
        if sync_dir {
            m.fsync(ROOT).unwrap();
        }
        m.power_cut();
        let expected: &[u8] = if sync_dir { b"new" } else { b"old" };
        assert_eq!(content(&m, "checkpoint").as_deref(), Some(expected), "dir fsynced: {sync_dir}");
        assert_eq!(m.resolve("checkpoint.tmp"), None);
    }
}

#[test]
fn mkdir_without_parent_fsync_is_undone() {
    let mut m = Model::new();
    let d = dir(&mut m, ROOT, "topic-0");
    let f = file(&mut m, d, "0.log", b"x");
    m.fsync(f).unwrap();
    m.fsync(d).unwrap();
    m.power_cut();
    assert_eq!(m.resolve("topic-0"), None);
    assert_eq!(m.usage().inodes, 1);
}

#[test]
fn durable_directory_keeps_only_its_durable_entries() {
    let mut m = Model::new();
    let d = dir(&mut m, ROOT, "topic-0");
    m.fsync(ROOT).unwrap();
    let first = file(&mut m, d, "0.log", b"first");
    m.fsync(first).unwrap();
    m.fsync(d).unwrap();
    // A rolled segment: data fsynced, directory entry not.
    let second = file(&mut m, d, "5.log", b"second");
    m.fsync(second).unwrap();
    m.power_cut();
    assert_eq!(content(&m, "topic-0/0.log").as_deref(), Some(&b"first"[..]));
    assert_eq!(m.resolve("topic-0/5.log"), None);
    let names: Vec<_> = m.list(m.resolve("topic-0").unwrap()).unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, [".", "..", "0.log"]);
}

#[test]
fn unsynced_unlink_comes_back_with_its_durable_content() {
    for sync_dir in [false, true] {
        let mut m = Model::new();
        let f = file(&mut m, ROOT, "a", b"kept");
        m.fsync(f).unwrap();
        m.fsync(ROOT).unwrap();
        m.write(f, None, b" and lost").unwrap();
        m.unlink(ROOT, name("a")).unwrap();
        assert_eq!(m.resolve("a"), None);
        if sync_dir {
            m.fsync(ROOT).unwrap();
        }
        m.power_cut();
        let expected = (!sync_dir).then(|| b"kept".to_vec());
        assert_eq!(content(&m, "a"), expected, "dir fsynced: {sync_dir}");
    }
}

#[test]
fn unlinked_file_lives_while_open_or_looked_up() {
    let mut m = Model::new();
    let f = file(&mut m, ROOT, "a", b"data");
    m.open(f).unwrap();
    m.unlink(ROOT, name("a")).unwrap();
    m.fsync(ROOT).unwrap();
    assert_eq!(m.read(f, 1, 100).unwrap(), b"ata");
    assert_eq!(m.stat(f).unwrap().nlink, 0);
    m.release(f);
    assert_eq!(m.read(f, 0, 4).unwrap(), b"data", "the kernel's lookup reference still holds it");
    m.forget(f, 1);
    assert_eq!(m.stat(f), Err(FsError::NotFound));
}

#[test]
fn detach_kernel_drops_what_only_the_kernel_held() {
    let mut m = Model::new();
    let f = file(&mut m, ROOT, "a", b"data");
    let g = file(&mut m, ROOT, "b", b"data");
    m.open(f).unwrap();
    m.unlink(ROOT, name("a")).unwrap();
    m.fsync(ROOT).unwrap();
    m.detach_kernel();
    assert_eq!(m.stat(f), Err(FsError::NotFound));
    assert_eq!(m.stat(g).unwrap().nlink, 1);
}

#[test]
fn rename_over_a_file_replaces_it_until_the_power_cut() {
    let mut m = Model::new();
    let a = file(&mut m, ROOT, "a", b"A");
    let b = file(&mut m, ROOT, "b", b"B");
    m.fsync(a).unwrap();
    m.fsync(b).unwrap();
    m.fsync(ROOT).unwrap();
    m.rename(ROOT, name("a"), ROOT, name("b"), false).unwrap();
    assert_eq!(content(&m, "b").as_deref(), Some(&b"A"[..]));
    assert_eq!(m.resolve("a"), None);
    m.power_cut();
    assert_eq!(content(&m, "a").as_deref(), Some(&b"A"[..]));
    assert_eq!(content(&m, "b").as_deref(), Some(&b"B"[..]));
}

#[test]
fn rename_across_directories_with_one_side_fsynced() {
    let mut m = Model::new();
    let from = dir(&mut m, ROOT, "from");
    let to = dir(&mut m, ROOT, "to");
    let f = file(&mut m, from, "f", b"x");
    m.fsync(f).unwrap();
    m.fsync(from).unwrap();
    m.fsync(ROOT).unwrap();
    m.rename(from, name("f"), to, name("g"), false).unwrap();
    m.fsync(to).unwrap();
    m.power_cut();
    // Both durable entries stand: one inode, two links.
    let (old, new) = (m.resolve("from/f").unwrap(), m.resolve("to/g").unwrap());
    assert_eq!(old, new);
    assert_eq!(m.stat(old).unwrap().nlink, 2);
    m.unlink(from, name("f")).unwrap();
    assert_eq!(content(&m, "to/g").as_deref(), Some(&b"x"[..]));
}

#[test]
fn o_append_writes_at_the_end_and_gaps_are_zeros() {
    let mut m = Model::new();
    let f = file(&mut m, ROOT, "a", b"ab");
    assert_eq!(m.write(f, None, b"cd").unwrap(), 2);
    assert_eq!(m.write(f, Some(6), b"z").unwrap(), 6);
    assert_eq!(m.file_data(f).unwrap(), b"abcd\0\0z");
    m.allocate(f, 0, 10, false).unwrap();
    assert_eq!(m.stat(f).unwrap().size, 10);
    m.allocate(f, 0, 20, true).unwrap();
    assert_eq!(m.stat(f).unwrap().size, 10);
    assert_eq!(m.read(f, 100, 10).unwrap(), b"");
}

#[test]
fn bad_requests_get_their_errno() {
    let mut m = Model::new();
    let d = dir(&mut m, ROOT, "d");
    let f = file(&mut m, ROOT, "f", b"");
    file(&mut m, d, "inner", b"");
    dir(&mut m, ROOT, "empty");
    assert_eq!(m.create(ROOT, name("f"), Kind::File, 0o644, 0, 0).map(|_| ()), Err(FsError::Exists));
    assert_eq!(m.lookup(ROOT, name("missing")).map(|_| ()), Err(FsError::NotFound));
    assert_eq!(m.lookup(f, name("x")).map(|_| ()), Err(FsError::NotDir));
    assert_eq!(m.rmdir(ROOT, name("d")), Err(FsError::NotEmpty));
    assert_eq!(m.rmdir(ROOT, name("f")), Err(FsError::NotDir));
    assert_eq!(m.unlink(ROOT, name("d")), Err(FsError::IsDir));
    assert_eq!(m.unlink(ROOT, name("missing")), Err(FsError::NotFound));
    assert_eq!(m.rename(ROOT, name("d"), ROOT, name("f"), false), Err(FsError::NotDir));
    assert_eq!(m.rename(ROOT, name("f"), ROOT, name("d"), false), Err(FsError::IsDir));
    assert_eq!(m.rename(ROOT, name("empty"), ROOT, name("d"), false), Err(FsError::NotEmpty));
    assert_eq!(m.rename(ROOT, name("f"), ROOT, name("empty"), true), Err(FsError::Exists));
    assert_eq!(m.rename(ROOT, name("d"), d, name("sub"), false), Err(FsError::Invalid));
    assert_eq!(m.rename(ROOT, name("missing"), ROOT, name("x"), false), Err(FsError::NotFound));
    assert_eq!(m.write(d, Some(0), b"x"), Err(FsError::IsDir));
    assert_eq!(m.read(d, 0, 1).map(|_| ()), Err(FsError::IsDir));
    assert_eq!(m.write(f, Some(MAX_FILE_SIZE), b"x"), Err(FsError::TooLarge));
    assert_eq!(m.write(f, Some(u64::MAX), b"x"), Err(FsError::TooLarge));
    assert_eq!(m.setattr(d, SetAttr { size: Some(0), ..Default::default() }).map(|_| ()), Err(FsError::IsDir));
    let long = "x".repeat(NAME_MAX + 1);
    assert_eq!(m.create(ROOT, name(&long), Kind::File, 0o644, 0, 0).map(|_| ()), Err(FsError::NameTooLong));
    assert_eq!(m.create(ROOT, name("a/b"), Kind::File, 0o644, 0, 0).map(|_| ()), Err(FsError::Invalid));
    assert_eq!(m.stat(9999), Err(FsError::NotFound));
    // An empty directory may replace an empty directory.
    m.rename(ROOT, name("empty"), d, name("moved"), false).unwrap();
    assert_eq!(m.resolve("d/moved").and_then(|i| m.stat(i).ok()).map(|s| s.kind), Some(Kind::Dir));
    assert_eq!(m.list(d).unwrap()[1].ino, ROOT);
}

#[test]
fn inode_numbers_are_never_reused() {
    let mut m = Model::new();
    let a = file(&mut m, ROOT, "a", b"");
    m.unlink(ROOT, name("a")).unwrap();
    m.forget(a, 1);
    let b = file(&mut m, ROOT, "a", b"");
    assert!(b > a);
}

#[test]
fn the_file_system_keeps_working_after_a_power_cut() {
    let mut m = Model::new();
    let d = dir(&mut m, ROOT, "d");
    m.fsync(ROOT).unwrap();
    let lost = dir(&mut m, d, "lost");
    file(&mut m, lost, "x", b"x");
    m.power_cut();
    let d2 = m.lookup(ROOT, name("d")).unwrap().ino;
    assert_eq!(d2, d);
    assert_eq!(m.list(d).unwrap().len(), 2);
    let f = file(&mut m, d, "lost", b"again");
    m.fsync(f).unwrap();
    m.fsync(d).unwrap();
    m.power_cut();
    assert_eq!(content(&m, "d/lost").as_deref(), Some(&b"again"[..]));
    assert_eq!(m.stat(ROOT).unwrap().nlink, 3);
}
