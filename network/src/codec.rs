//! Wire format of `/safeledger/sync/1`: one frame per request and per response, a
//! big-endian `u32` byte length followed by that many bytes of payload. A declared length
//! above the limit is refused before anything is allocated for it.

use std::{fmt, io};

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

/// A frame longer than the configured limit; carried inside an [`io::Error`] of kind
/// `InvalidData` so the swarm can report [`crate::NetError::TooLarge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameTooLarge {
    pub(crate) len: usize,
    pub(crate) max: usize,
}

impl fmt::Display for FrameTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frame of {} bytes exceeds limit of {} bytes",
            self.len, self.max
        )
    }
}

impl std::error::Error for FrameTooLarge {}

impl FrameTooLarge {
    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// The [`FrameTooLarge`] inside `e`, if that is what `e` is.
    pub(crate) fn find(e: &io::Error) -> Option<FrameTooLarge> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<FrameTooLarge>())
            .copied()
    }
}

/// Raw-bytes request-response codec with a per-frame size limit in bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SyncCodec {
    max_frame: usize,
}

impl SyncCodec {
    /// A codec refusing frames over `max_frame` bytes.
    pub(crate) fn new(max_frame: usize) -> SyncCodec {
        SyncCodec { max_frame }
    }
}

async fn read_frame<T: AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let len = usize::try_from(u32::from_be_bytes(prefix)).unwrap_or(usize::MAX);
    if len > max {
        return Err(FrameTooLarge { len, max }.into_io());
    }
    // Grow with what actually arrives rather than trusting the declared length.
    let mut buf = Vec::new();
    io.take(len as u64).read_to_end(&mut buf).await?;
    if buf.len() != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("frame truncated: {} of {len} bytes", buf.len()),
        ));
    }
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    data: &[u8],
    max: usize,
) -> io::Result<()> {
    let len = data.len();
    let prefix = match u32::try_from(len) {
        Ok(n) if len <= max => n.to_be_bytes(),
        _ => return Err(FrameTooLarge { len, max }.into_io()),
    };
    io.write_all(&prefix).await?;
    io.write_all(data).await?;
    io.flush().await
}

#[async_trait::async_trait]
impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_frame).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_frame).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req, self.max_frame).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res, self.max_frame).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::io::Cursor;
    use libp2p::request_response::Codec;

    fn proto() -> StreamProtocol {
        StreamProtocol::new(crate::SYNC_PROTOCOL)
    }

    #[test]
    fn frame_round_trips_up_to_the_limit() {
        let mut codec = SyncCodec::new(8);
        let mut wire = Cursor::new(Vec::new());
        block_on(codec.write_request(&proto(), &mut wire, b"12345678".to_vec())).unwrap();
        assert_eq!(wire.get_ref()[..4], [0, 0, 0, 8]);
        wire.set_position(0);
        let back = block_on(codec.read_request(&proto(), &mut wire)).unwrap();
        assert_eq!(back, b"12345678");
    }

    #[test]
    fn writing_an_oversized_frame_is_refused() {
        let mut codec = SyncCodec::new(4);
        let mut wire = Cursor::new(Vec::new());
        let err = block_on(codec.write_response(&proto(), &mut wire, vec![0; 5])).unwrap_err();
        assert_eq!(
            FrameTooLarge::find(&err),
            Some(FrameTooLarge { len: 5, max: 4 })
        );
        assert!(wire.get_ref().is_empty());
    }

    #[test]
    fn declared_length_over_limit_is_refused_before_reading_the_body() {
        let mut codec = SyncCodec::new(1024);
        // Claims 4 GiB but carries nothing: must fail on the prefix alone.
        let mut wire = Cursor::new(vec![0xff, 0xff, 0xff, 0xff]);
        let err = block_on(codec.read_response(&proto(), &mut wire)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            FrameTooLarge::find(&err),
            Some(FrameTooLarge {
                len: u32::MAX as usize,
                max: 1024
            })
        );
    }

    #[test]
    fn truncated_frame_is_an_error() {
        let mut codec = SyncCodec::new(1024);
        let mut wire = Cursor::new(vec![0, 0, 0, 10, 1, 2, 3]);
        let err = block_on(codec.read_request(&proto(), &mut wire)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let mut short_prefix = Cursor::new(vec![0, 0]);
        assert!(block_on(codec.read_request(&proto(), &mut short_prefix)).is_err());
    }
}
