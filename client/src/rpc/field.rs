//! The field's files and the public's tips (issue 20 items 4, 5): evidence files up to and
//! down from the node that keeps them, streamed in [`EVIDENCE_CHUNK`] pieces and checked
//! against their BLAKE3 hash; public tip-offs and their status by receipt code.

use super::{is_transport, ClientError, LedgerClient};
use crate::auth::{self, method};
use crate::proto;
use safeledger_core::Hash;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bytes of file data per streamed message.
pub const EVIDENCE_CHUNK: usize = 1 << 20;

/// An evidence file fetched and checked: its hash, size, media type and name as the node
/// sent them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedEvidence {
    /// BLAKE3 of the bytes written (equal to the hash asked for).
    pub hash: Hash,
    /// Bytes written.
    pub size: u64,
    /// Media type.
    pub media_type: String,
    /// File name at the keeping agency.
    pub name: String,
}

/// BLAKE3 and size of the file at `path`, read in pieces.
///
/// # Errors
/// The file cannot be read.
pub async fn hash_file(path: &Path) -> std::io::Result<(Hash, u64)> {
    let mut f = tokio::fs::File::open(path).await?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; EVIDENCE_CHUNK];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((Hash(*h.finalize().as_bytes()), size))
}

impl LedgerClient {
    /// Streams the file at `path` to the current node (its agency's own: build the client
    /// with that endpoint), declared with `media_type` and `name`; the node keeps it only
    /// when its bytes match the hash computed here. No fail-over.
    ///
    /// # Errors
    /// The file cannot be read; the node refuses (not an officer of its agency, too large,
    /// bytes not matching) or cannot be reached.
    pub async fn put_evidence(
        &mut self,
        path: &Path,
        media_type: &str,
        name: &str,
    ) -> Result<proto::EvidenceStored, ClientError> {
        let io = |e: std::io::Error| ClientError::Endpoint(format!("{}: {e}", path.display()));
        let (hash, size) = hash_file(path).await.map_err(io)?;
        let header = proto::EvidenceChunk {
            hash: hash.0.to_vec(),
            size,
            media_type: media_type.into(),
            name: name.into(),
            data: Vec::new(),
        };
        let signed = auth::request(self.signer.as_deref(), method::PUT_EVIDENCE, header.clone());
        let (tx, rx) = tokio::sync::mpsc::channel::<proto::EvidenceChunk>(4);
        let file = tokio::fs::File::open(path).await.map_err(io)?;
        let reader = tokio::spawn(async move {
            let mut file = file;
            if tx.send(header).await.is_err() {
                return;
            }
            loop {
                let mut buf = vec![0u8; EVIDENCE_CHUNK];
                let n = match file.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.truncate(n);
                let chunk = proto::EvidenceChunk {
                    data: buf,
                    ..Default::default()
                };
                if tx.send(chunk).await.is_err() {
                    return;
                }
            }
        });
        let (md, ext, _) = signed.into_parts();
        let req =
            tonic::Request::from_parts(md, ext, tokio_stream::wrappers::ReceiverStream::new(rx));
        let mut raw = self.raw().await?;
        let out = raw.put_evidence(req).await;
        reader.abort();
        Ok(out?.into_inner())
    }

    /// Fetches evidence file `hash` from the current node into `out` (written to a
    /// temporary file beside it and renamed only once every byte matched the hash).
    ///
    /// # Errors
    /// Refused by the node (not entitled, not kept there), unreachable, a file whose bytes
    /// do not match `hash` (nothing is left at `out`), or `out` cannot be written.
    pub async fn get_evidence(
        &mut self,
        hash: &Hash,
        out: &Path,
    ) -> Result<FetchedEvidence, ClientError> {
        let req = auth::request(
            self.signer.as_deref(),
            method::GET_EVIDENCE,
            proto::GetEvidenceRequest {
                hash: hash.0.to_vec(),
            },
        );
        let mut raw = self.raw().await?;
        let mut stream = match raw.get_evidence(req).await {
            Ok(s) => s.into_inner(),
            Err(s) if is_transport(&s) => {
                self.fail_over();
                return Err(ClientError::Status(s));
            }
            Err(s) => return Err(ClientError::Status(s)),
        };
        let io = |e: std::io::Error| ClientError::Endpoint(format!("{}: {e}", out.display()));
        if std::fs::symlink_metadata(out).is_ok() {
            return Err(ClientError::Endpoint(format!(
                "{}: something is there already",
                out.display()
            )));
        }
        let header = stream
            .message()
            .await?
            .ok_or_else(|| ClientError::Decode("the node sent no evidence header".into()))?;
        let tmp = out.with_extension("partial");
        let mut f = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .await
            .map_err(io)?;
        let mut h = blake3::Hasher::new();
        let mut size = 0u64;
        let result = async {
            while let Some(c) = stream.message().await? {
                size += c.data.len() as u64;
                if size > header.size {
                    return Err(ClientError::Decode(format!(
                        "the node sent more than the {} bytes it declared",
                        header.size
                    )));
                }
                h.update(&c.data);
                f.write_all(&c.data).await.map_err(io)?;
            }
            f.sync_all().await.map_err(io)?;
            let got = Hash(*h.finalize().as_bytes());
            if got != *hash || size != header.size {
                return Err(ClientError::Decode(format!(
                    "the bytes received ({size} bytes, BLAKE3 {got}) do not match evidence \
                     file {hash} ({} bytes): nothing was kept",
                    header.size
                )));
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        tokio::fs::rename(&tmp, out).await.map_err(io)?;
        Ok(FetchedEvidence {
            hash: *hash,
            size,
            media_type: header.media_type,
            name: header.name,
        })
    }

    /// Hands a tip to the current node (public: no signature is needed or sent).
    ///
    /// # Errors
    /// Refused (out of bounds, unknown enterprise, rate limit) or unreachable.
    pub async fn submit_tip(
        &mut self,
        tip: proto::SubmitTipRequest,
    ) -> Result<proto::SubmitTipReply, ClientError> {
        let req = tonic::Request::new(tip);
        let mut raw = self.raw().await?;
        Ok(raw.submit_tip(req).await?.into_inner())
    }

    /// The status of the tip `receipt` opens, as JSON (public).
    ///
    /// # Errors
    /// NOT_FOUND for an unknown code; unreachable.
    pub async fn tip_status(&mut self, receipt: &str) -> Result<serde_json::Value, ClientError> {
        let r = self
            .call(
                method::GET_TIP_STATUS,
                proto::GetTipStatusRequest {
                    receipt: receipt.into(),
                },
                |mut c, r| async move { c.get_tip_status(r).await },
            )
            .await?
            .into_inner();
        serde_json::from_str(&r.json).map_err(|e| ClientError::Decode(e.to_string()))
    }
}
