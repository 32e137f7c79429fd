//! Putting the site's files into the output folder.
//!
//! A file that the folder already holds is replaced through a temporary name
//! and a rename, so whoever serves the folder never hands out half a page; a
//! file already holding the same bytes is left alone, so a publishing step
//! sees only what changed. A file the folder did not hold when the render
//! began is written straight to its name: no one can be reading a page that
//! nothing links to yet (the index that links to it is written after it),
//! and a rename per file was a tenth of the file system's work when a CI job
//! renders 30,000 files into a fresh folder.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::{File, RenderError};

/// The output folder, with the names each of its folders held when the
/// render first wrote there. Shared by the render's threads.
#[derive(Debug)]
pub struct Output {
    root: PathBuf,
    /// Folder → the names it held when first visited. Listing a folder once
    /// replaces asking the file system about each file.
    held: Mutex<HashMap<PathBuf, Arc<HashSet<OsString>>>>,
}

impl Output {
    pub fn new(root: &Path) -> Self {
        Output {
            root: root.to_path_buf(),
            held: Mutex::new(HashMap::new()),
        }
    }

    /// Write `f` under the output folder, creating folders as needed.
    pub fn write(&self, f: &File) -> Result<(), RenderError> {
        let path = self.root.join(&f.path);
        let held = match path.parent() {
            Some(dir) => self.held_in(dir)?,
            None => Arc::default(),
        };
        let known = path.file_name().is_some_and(|name| held.contains(name));
        if !known {
            match std::fs::File::create_new(&path) {
                Ok(mut file) => {
                    return file.write_all(&f.bytes).map_err(|source| io(&path, source));
                }
                // Made since the folder was listed (the same file twice, or
                // another render): replace it as below.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(io(&path, source)),
            }
        }
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == f.bytes.len() as u64)
            && std::fs::read(&path).is_ok_and(|old| old == f.bytes)
        {
            return Ok(());
        }
        let tmp = path.with_extension("tmp-outpost");
        std::fs::write(&tmp, &f.bytes).map_err(|source| io(&tmp, source))?;
        std::fs::rename(&tmp, &path).map_err(|source| io(&path, source))
    }

    /// The names `dir` held when first asked, creating it if it is missing.
    fn held_in(&self, dir: &Path) -> Result<Arc<HashSet<OsString>>, RenderError> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(names) = held.get(dir) {
            return Ok(Arc::clone(names));
        }
        std::fs::create_dir_all(dir).map_err(|source| io(dir, source))?;
        let names: HashSet<OsString> = std::fs::read_dir(dir)
            .map_err(|source| io(dir, source))?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(|source| io(dir, source))?;
        let names = Arc::new(names);
        held.insert(dir.to_path_buf(), Arc::clone(&names));
        Ok(names)
    }
}

fn io(path: &Path, source: std::io::Error) -> RenderError {
    RenderError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name)).unwrap()
    }

    #[test]
    fn new_files_are_written_held_files_replaced_and_equal_ones_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("probe")).unwrap();
        std::fs::write(dir.path().join("probe/old.html"), "old").unwrap();
        std::fs::write(dir.path().join("same.html"), "same").unwrap();
        use std::os::unix::fs::MetadataExt;
        let inode = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().ino();
        let (old, same) = (inode("probe/old.html"), inode("same.html"));
        let out = Output::new(dir.path());
        for (path, bytes) in [
            ("probe/old.html", "new"),
            ("probe/fresh.html", "fresh"),
            ("same.html", "same"),
            ("deep/er/page.html", "deep"),
            // The same file twice: the second replaces the first.
            ("probe/fresh.html", "fresher"),
        ] {
            out.write(&File::new(path, bytes)).unwrap();
        }
        assert_eq!(read(dir.path(), "probe/old.html"), "new");
        assert_eq!(read(dir.path(), "probe/fresh.html"), "fresher");
        assert_eq!(read(dir.path(), "deep/er/page.html"), "deep");
        // Equal bytes keep their file; different ones got a new file, renamed
        // over the old one.
        assert_eq!(inode("same.html"), same);
        assert_ne!(inode("probe/old.html"), old);
        // No temporary file is left behind.
        let mut names: Vec<_> = std::fs::read_dir(dir.path().join("probe"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["fresh.html", "old.html"]);
    }

    #[test]
    fn a_file_that_cannot_be_written_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        // A file where a folder should be.
        std::fs::write(dir.path().join("probe"), "not a folder").unwrap();
        let err = Output::new(dir.path())
            .write(&File::new("probe/x.html", "x"))
            .unwrap_err();
        assert!(err.to_string().contains("probe"), "{err}");
    }
}
