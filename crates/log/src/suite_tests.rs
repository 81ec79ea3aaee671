//! The shared log suite ([`crate::testing`]) against both logs of this crate.

use crate::{testing, FileLog, MemoryLog, PartitionLog};

#[test]
fn the_memory_log_passes_the_suite() {
    testing::run(|_| Box::new(MemoryLog::new()));
}

#[test]
fn the_file_log_passes_the_suite() {
    let root = tempfile::tempdir().unwrap();
    let mut next = 0;
    testing::run(|config| {
        next += 1;
        Box::new(FileLog::open(&root.path().join(format!("t-{next}")), config).unwrap()) as Box<dyn PartitionLog>
    });
}
