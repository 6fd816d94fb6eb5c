//! An Office file's zip archive, read only as far as its text needs, never further than the
//! limits allow.
//!
//! Word, Excel and PowerPoint files are zip archives of XML parts (Office Open XML, ECMA-376).
//! A zip entry declares its sizes, and a zip bomb lies about them: a few kilobytes that claim
//! to inflate to a few kilobytes and inflate to gigabytes. So declared sizes are ignored:
//! the central directory is walked only up to [`MAX_ARCHIVE_ENTRIES`], only the parts the
//! reader names are ever inflated, each at most to [`MAX_PART_BYTES`], and all of them
//! together at most to [`MAX_INFLATED_BYTES`]. A part cut short by a limit is returned with
//! what was inflated, and the reader says so in its output.

use rawzip::{CompressionMethod, ZipArchive, ZipArchiveEntryWayfinder, ZipSliceArchive};

use super::{
    DocumentKind, ExtractError, MAX_ARCHIVE_ENTRIES, MAX_INFLATED_BYTES, MAX_PART_BYTES, text_files,
};

/// The start of an OLE compound file: what password-protected Office files (and the legacy
/// binary `.doc`/`.xls`/`.ppt` formats) are, instead of zip archives.
const COMPOUND_FILE_SIGNATURE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// One part, inflated and decoded.
pub(super) struct Part {
    pub(super) xml: String,
    /// Whether the whole part was read, rather than stopped at a limit.
    pub(super) complete: bool,
}

pub(super) struct Package<'a> {
    kind: DocumentKind,
    archive: ZipSliceArchive<&'a [u8]>,
    /// The entries the reader may ask for: (name, where it is).
    entries: Vec<(String, ZipArchiveEntryWayfinder)>,
    inflated_so_far: usize,
}

impl<'a> Package<'a> {
    /// Opens the archive in `bytes`, keeping the entries whose names `wanted` accepts.
    pub(super) fn open(
        bytes: &'a [u8],
        kind: DocumentKind,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Self, ExtractError> {
        if bytes.starts_with(COMPOUND_FILE_SIGNATURE) {
            // Either an encrypted Office file or a .doc/.xls/.ppt renamed; the first is common.
            return Err(ExtractError::Encrypted { kind });
        }
        let corrupt = |problem| ExtractError::Corrupt { kind, problem };
        let archive =
            ZipArchive::from_slice(bytes).map_err(|_| corrupt("it is not a zip archive"))?;
        let mut entries = Vec::new();
        let mut listed = archive.entries();
        let mut count = 0;
        while let Some(entry) = listed
            .next_entry()
            .map_err(|_| corrupt("its zip directory is damaged"))?
        {
            count += 1;
            if count > MAX_ARCHIVE_ENTRIES {
                return Err(corrupt("its zip archive lists more than 10,000 entries"));
            }
            // Part names are ASCII in practice; a name that is not UTF-8 is not one we ask for.
            let Ok(name) = std::str::from_utf8(entry.file_path().as_bytes()) else {
                continue;
            };
            if !wanted(name) {
                continue;
            }
            if entry.flags().is_encrypted() {
                return Err(ExtractError::Encrypted { kind });
            }
            if entry.compression_method() != CompressionMethod::STORE
                && entry.compression_method() != CompressionMethod::DEFLATE
            {
                return Err(ExtractError::Unsupported {
                    kind,
                    feature: "a zip compression method other than deflate",
                });
            }
            // When a name appears twice, the first entry is the one read.
            if !entries.iter().any(|(existing, _)| existing == name) {
                entries.push((name.to_owned(), entry.wayfinder()));
            }
        }
        Ok(Package {
            kind,
            archive,
            entries,
            inflated_so_far: 0,
        })
    }

    /// Whether nothing more can be inflated from this file.
    pub(super) fn exhausted(&self) -> bool {
        self.inflated_so_far >= MAX_INFLATED_BYTES
    }

    /// The part called `name`, or `None` when the archive has no such entry.
    pub(super) fn read(&mut self, name: &str) -> Result<Option<Part>, ExtractError> {
        let Some(wayfinder) = self
            .entries
            .iter()
            .find(|(entry, _)| entry == name)
            .map(|(_, wayfinder)| *wayfinder)
        else {
            return Ok(None);
        };
        let kind = self.kind;
        let entry = self
            .archive
            .get_entry(wayfinder)
            .map_err(|_| ExtractError::Corrupt {
                kind,
                problem: "an entry of its zip archive is damaged",
            })?;
        let limit = MAX_PART_BYTES.min(MAX_INFLATED_BYTES.saturating_sub(self.inflated_so_far));
        let compressed = entry.data();
        let (bytes, complete) = if entry.local_header().compression_method()
            == CompressionMethod::STORE
        {
            let stored = &compressed[..compressed.len().min(limit)];
            (stored.to_vec(), stored.len() == compressed.len())
        } else {
            match miniz_oxide::inflate::decompress_to_vec_with_limit(compressed, limit) {
                Ok(bytes) => (bytes, true),
                Err(error) if error.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                    (error.output, false)
                }
                Err(_) => {
                    return Err(ExtractError::Corrupt {
                        kind,
                        problem: "an entry of its zip archive does not inflate",
                    });
                }
            }
        };
        self.inflated_so_far += bytes.len();
        Ok(Some(Part {
            xml: text_files::decode(&bytes),
            complete,
        }))
    }
}

/// Resolves a relationship target (`worksheets/sheet1.xml`, `/xl/worksheets/sheet1.xml`,
/// `../slides/slide1.xml`) against the folder of the part that declares it (`xl/`), as
/// Open Packaging Conventions part names: no leading slash, `.` and `..` applied.
pub(super) fn resolve_target(base_folder: &str, target: &str) -> String {
    let joined = match target.strip_prefix('/') {
        Some(absolute) => absolute.to_owned(),
        None => format!("{base_folder}{target}"),
    };
    let mut segments: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    segments.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::documents::fixtures::{ZipEntry, zip};

    #[test]
    fn only_wanted_entries_are_kept_and_read() {
        let bytes = zip(&[
            ZipEntry::deflated("word/document.xml", b"<w:document/>"),
            ZipEntry::stored("word/media/image1.png", b"\x89PNG"),
        ]);
        let mut package =
            Package::open(&bytes, DocumentKind::Word, |name| name.ends_with(".xml")).unwrap();
        let part = package.read("word/document.xml").unwrap().unwrap();
        assert_eq!(part.xml, "<w:document/>");
        assert!(part.complete);
        assert!(package.read("word/media/image1.png").unwrap().is_none());
    }

    #[test]
    fn a_part_that_inflates_past_its_declared_size_is_cut_at_the_limit() {
        // 40 MiB of spaces that declare themselves as 100 bytes.
        let bomb = vec![b' '; 40 * 1024 * 1024];
        let bytes = zip(&[ZipEntry::deflated("word/document.xml", &bomb).declaring_size(100)]);
        assert!(bytes.len() < 100 * 1024);
        let mut package = Package::open(&bytes, DocumentKind::Word, |_| true).unwrap();
        let part = package.read("word/document.xml").unwrap().unwrap();
        assert_eq!(part.xml.len(), MAX_PART_BYTES);
        assert!(!part.complete);
    }

    #[test]
    fn all_parts_together_stop_at_the_total_limit() {
        let big = vec![b' '; 30 * 1024 * 1024];
        let names: Vec<String> = (1..=3)
            .map(|n| format!("xl/worksheets/sheet{n}.xml"))
            .collect();
        let entries: Vec<ZipEntry> = names
            .iter()
            .map(|name| ZipEntry::deflated(name, &big))
            .collect();
        let bytes = zip(&entries);
        let mut package = Package::open(&bytes, DocumentKind::Excel, |_| true).unwrap();
        let sizes: Vec<(usize, bool)> = names
            .iter()
            .map(|name| {
                package
                    .read(name)
                    .unwrap()
                    .map(|part| (part.xml.len(), part.complete))
                    .unwrap()
            })
            .collect();
        assert_eq!(
            sizes,
            [(30 << 20, true), (30 << 20, true), (4 << 20, false)]
        );
        assert!(package.exhausted());
    }

    #[test]
    fn archives_that_are_not_readable_say_why() {
        let not_zip = Package::open(b"plain text", DocumentKind::Word, |_| true);
        assert_eq!(
            not_zip.err(),
            Some(ExtractError::Corrupt {
                kind: DocumentKind::Word,
                problem: "it is not a zip archive"
            })
        );
        let protected = Package::open(COMPOUND_FILE_SIGNATURE, DocumentKind::Excel, |_| true);
        assert_eq!(
            protected.err(),
            Some(ExtractError::Encrypted {
                kind: DocumentKind::Excel
            })
        );
        let many: Vec<ZipEntry> = (0..=MAX_ARCHIVE_ENTRIES)
            .map(|n| ZipEntry::stored_named(format!("f{n}"), b""))
            .collect();
        let many = zip(&many);
        let too_many = Package::open(&many, DocumentKind::Word, |_| true);
        assert!(
            matches!(too_many.err(), Some(ExtractError::Corrupt { problem, .. }) if problem.contains("10,000"))
        );
    }

    #[test]
    fn relationship_targets_resolve_like_part_names() {
        assert_eq!(
            resolve_target("xl/", "worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml"
        );
        assert_eq!(
            resolve_target("xl/", "/xl/worksheets/sheet2.xml"),
            "xl/worksheets/sheet2.xml"
        );
        assert_eq!(
            resolve_target("ppt/", "./slides/../slides/slide1.xml"),
            "ppt/slides/slide1.xml"
        );
        assert_eq!(resolve_target("ppt/", "../../../etc/passwd"), "etc/passwd");
    }
}
