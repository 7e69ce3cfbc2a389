//! Compressed input, recognised by its first bytes: an LZ4 frame or a gzip
//! member is decompressed as it is read; anything else is read as it is.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// How a file's bytes are stored, as its first bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed (no known magic bytes).
    None,
    /// An LZ4 frame (magic `04 22 4D 18`).
    Lz4,
    /// A gzip member (magic `1F 8B`), or several one after another.
    Gzip,
}

const LZ4_MAGIC: [u8; 4] = [0x04, 0x22, 0x4D, 0x18];
const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];

impl Compression {
    /// What `head`, a file's first bytes, says the file is.
    ///
    /// ```
    /// use flux_memory::Compression;
    ///
    /// assert_eq!(Compression::of(&[0x04, 0x22, 0x4D, 0x18, 0x64]), Compression::Lz4);
    /// assert_eq!(Compression::of(&[0x1F, 0x8B, 0x08]), Compression::Gzip);
    /// assert_eq!(Compression::of(b"id,name\n"), Compression::None);
    /// ```
    pub fn of(head: &[u8]) -> Self {
        if head.starts_with(&LZ4_MAGIC) {
            Compression::Lz4
        } else if head.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else {
            Compression::None
        }
    }
}

/// Opens the file at `path` and reads its bytes decompressed, as its magic
/// bytes say (an LZ4 frame, gzip, or neither); also returns what it found.
/// The reader any source can frame: byte offsets then count the
/// decompressed input.
///
/// ```
/// use std::io::Read;
///
/// let path = std::env::temp_dir().join(format!("flux-open-doc-{}", std::process::id()));
/// std::fs::write(&path, "plain\n")?;
/// let (mut reader, found) = flux_memory::open_decompressed(&path)?;
/// let mut text = String::new();
/// reader.read_to_string(&mut text)?;
/// assert_eq!((text.as_str(), found), ("plain\n", flux_memory::Compression::None));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// The file cannot be opened or its first bytes read.
pub fn open_decompressed(path: impl AsRef<Path>) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    open(path.as_ref())
}

/// Opens `path` and reads its bytes decompressed, as its magic bytes say.
pub(crate) fn open(path: &Path) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    let mut head = [0u8; 4];
    let mut file = File::open(path)?;
    let mut seen = 0;
    while seen < head.len() {
        match file.read(&mut head[seen..])? {
            0 => break,
            n => seen += n,
        }
    }
    let compression = Compression::of(&head[..seen]);
    // The bytes already read come first again.
    let whole = io::Cursor::new(head[..seen].to_vec()).chain(file);
    let reader: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(whole),
        Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(BufReader::new(whole))),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(whole))),
    };
    Ok((reader, compression))
}
