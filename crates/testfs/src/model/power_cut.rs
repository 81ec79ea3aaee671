//! What a power cut leaves, and what the end of a kernel session forgets.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{Body, Ino, Model, ROOT};

impl Model {
    /// The power goes: every file and directory reverts to what its last fsync made
    /// durable, and whatever is then unreachable from the root is gone. Open handles and
    /// kernel references die with the power too, so the file system should be unmounted
    /// (the kernel's page cache is the other thing a power cut clears).
    ///
    /// A directory renamed from one directory to another with only the destination
    /// fsynced comes back under both names, as a file would come back with two links:
    /// the strict model keeps both durable entries, and so does this.
    pub fn power_cut(&mut self) {
        for node in self.inodes.values_mut() {
            node.meta = node.durable_meta;
            match &mut node.body {
                Body::File { data, durable } => data.clone_from(durable),
                Body::Dir { entries, durable, .. } => entries.clone_from(durable),
            }
            node.lookups = 0;
            node.open = 0;
        }
        self.keep_reachable();
    }

    /// A mount ended: the kernel's references and open handles are gone, so files that
    /// only they kept alive (unlinked while open) go. Nothing durable changes.
    pub fn detach_kernel(&mut self) {
        let referenced: Vec<Ino> = self.inodes.keys().copied().collect();
        for node in self.inodes.values_mut() {
            node.lookups = 0;
            node.open = 0;
        }
        for ino in referenced {
            self.collect(ino);
        }
    }

    /// Drops every inode the current entries do not reach from the root, then recounts
    /// links and parents from what is left. Called after every directory has been put
    /// back to its durable entries, so current and durable links are the same count.
    fn keep_reachable(&mut self) {
        let mut reachable = HashSet::from([ROOT]);
        let mut parents: HashMap<Ino, Ino> = HashMap::from([(ROOT, ROOT)]);
        let mut queue = VecDeque::from([ROOT]);
        while let Some(dir) = queue.pop_front() {
            let Some(Body::Dir { entries, .. }) = self.inodes.get(&dir).map(|n| &n.body) else { continue };
            let children: Vec<Ino> = entries.values().copied().collect();
            for child in children {
                if reachable.insert(child) {
                    parents.insert(child, dir);
                    queue.push_back(child);
                }
            }
        }
        self.inodes.retain(|ino, _| reachable.contains(ino));
        let mut links: HashMap<Ino, u32> = HashMap::from([(ROOT, 1)]);
        for node in self.inodes.values() {
            if let Body::Dir { entries, .. } = &node.body {
                for child in entries.values() {
                    *links.entry(*child).or_default() += 1;
                }
            }
        }
        for (ino, node) in self.inodes.iter_mut() {
            let count = links.get(ino).copied().unwrap_or(0);
            debug_assert!(count > 0, "inode {ino} is reachable, so something links it");
            node.links = count;
            node.durable_links = count;
            if let Body::Dir { parent, .. } = &mut node.body {
                *parent = parents.get(ino).copied().unwrap_or(ROOT);
            }
        }
    }
}
