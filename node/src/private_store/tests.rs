use super::*;

const SECRET: &str = "J. Doe fell";

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    private: PrivateStore,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let private = PrivateStore::open(&store, dir.path()).unwrap();
    Fixture {
        dir,
        store,
        private,
    }
}

fn value(index: u16, name: &str, text: &str) -> PrivateValue {
    PrivateValue {
        index,
        name: name.into(),
        salt: [index as u8; 16],
        value: to_canonical(&text.to_string()),
    }
}

fn master_on_disk(f: &Fixture) -> [u8; 32] {
    read_key_file(&f.dir.path().join(MASTER_KEY_FILE))
        .unwrap()
        .unwrap()
}

/// Every file under `dir`, as bytes: what an image of the disk holds in files.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn values_round_trip_sealed_and_another_master_key_opens_nothing() {
    let f = fixture();
    let tx = Hash([3; 32]);
    let v = value(8, "description", SECRET);
    f.private.put(&tx, std::slice::from_ref(&v)).unwrap();
    assert_eq!(f.private.get(&tx).unwrap(), vec![v.clone()]);
    for kv in f.store.db().iter() {
        let (_, val) = kv.unwrap();
        assert!(!contains(&val, SECRET.as_bytes()), "plaintext at rest");
    }
    let d2 = tempfile::tempdir().unwrap();
    let other = PrivateStore::open(&f.store, d2.path()).unwrap();
    assert!(matches!(other.get(&tx), Err(PrivateStoreError::Unseal(_))));
    assert_eq!(f.private.get(&Hash([4; 32])).unwrap(), vec![]);
    assert_eq!(f.private.erased(&tx).unwrap(), vec![]);
}

#[test]
fn erasing_every_field_destroys_the_record_key_and_leaves_tombstones() {
    let f = fixture();
    let tx = Hash([3; 32]);
    let values = [
        value(7, "location", "bay 4"),
        value(8, "description", SECRET),
    ];
    f.private.put(&tx, &values).unwrap();
    let old_master = master_on_disk(&f);
    let out = f.private.erase(&tx, None, Timestamp(1_000)).unwrap();
    let want = |now| {
        vec![
            Erased {
                erasure: Erasure {
                    index: 7,
                    name: "location".into(),
                    erased_at: Timestamp(1_000),
                },
                now,
            },
            Erased {
                erasure: Erasure {
                    index: 8,
                    name: "description".into(),
                    erased_at: Timestamp(1_000),
                },
                now,
            },
        ]
    };
    assert_eq!(out, want(true));
    // Nothing held, and the node knows why: tombstones, not absence.
    assert_eq!(f.private.get(&tx).unwrap(), vec![]);
    let tombs: Vec<Erasure> = want(true).into_iter().map(|e| e.erasure).collect();
    assert_eq!(f.private.erased(&tx).unwrap(), tombs);
    assert!(f.store.db().get(key(KEYS, &tx)).unwrap().is_none());
    assert!(f.store.db().get(key(VALUES, &tx)).unwrap().is_none());
    // Idempotent: the same tombstones with their first time, nothing rotated again.
    let master = master_on_disk(&f);
    assert_ne!(master, old_master, "the master key was not rotated");
    let again = f.private.erase(&tx, None, Timestamp(2_000)).unwrap();
    assert_eq!(again, want(false));
    let again = f.private.erase(&tx, Some(&[8]), Timestamp(2_000)).unwrap();
    assert_eq!(again, want(false)[1..].to_vec());
    assert_eq!(master_on_disk(&f), master);
    // A value is not kept again for an erased field.
    assert!(matches!(
        f.private.put(&tx, &values[1..]),
        Err(PrivateStoreError::ErasedField { .. })
    ));
}

#[test]
fn an_image_of_the_data_directory_does_not_open_an_erased_record_key() {
    let f = fixture();
    let (erased, kept) = (Hash([3; 32]), Hash([5; 32]));
    f.private
        .put(&erased, &[value(8, "description", SECRET)])
        .unwrap();
    f.private
        .put(&kept, &[value(8, "description", "kept")])
        .unwrap();
    // What a disk image taken before the erasure, or sled's stale log segments, hold.
    let wrapped = f
        .store
        .db()
        .get(key(KEYS, &erased))
        .unwrap()
        .unwrap()
        .to_vec();
    let old_master = master_on_disk(&f);
    assert!(open_key(&old_master, &erased, &wrapped).is_some());
    f.private.erase(&erased, None, Timestamp(1)).unwrap();
    f.store.sync().unwrap();
    // No file of the data directory holds the old master key any more, and the key on
    // disk does not open the stale record key.
    for (path, bytes) in files(f.dir.path()) {
        assert!(
            !contains(&bytes, &old_master),
            "{} still holds the old master key",
            path.display()
        );
    }
    assert!(!f.dir.path().join(NEXT_MASTER_KEY_FILE).exists());
    assert!(open_key(&master_on_disk(&f), &erased, &wrapped).is_none());
    // The other record was re-sealed under the new key, also after a reopen.
    assert_eq!(f.private.get(&kept).unwrap()[0].name, "description");
    let reopened = PrivateStore::open(&f.store, f.dir.path()).unwrap();
    assert_eq!(
        reopened.get(&kept).unwrap(),
        vec![value(8, "description", "kept")]
    );
}

#[test]
fn erasing_some_fields_re_seals_the_others_under_a_fresh_record_key() {
    let f = fixture();
    let tx = Hash([3; 32]);
    let (loc, desc) = (
        value(7, "location", "bay 4"),
        value(8, "description", SECRET),
    );
    f.private.put(&tx, &[loc.clone(), desc.clone()]).unwrap();
    let wrapped = f.store.db().get(key(KEYS, &tx)).unwrap().unwrap().to_vec();
    let out = f.private.erase(&tx, Some(&[8]), Timestamp(5)).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].erasure.name, "description");
    assert!(out[0].now);
    // The remaining field still decrypts; the erased one is a tombstone.
    assert_eq!(f.private.get(&tx).unwrap(), vec![loc.clone()]);
    assert_eq!(
        f.private
            .erased(&tx)
            .unwrap()
            .iter()
            .map(|e| e.index)
            .collect::<Vec<_>>(),
        vec![8]
    );
    // The record key changed: the old one (which sealed the description) is gone.
    let now_wrapped = f.store.db().get(key(KEYS, &tx)).unwrap().unwrap().to_vec();
    let master = master_on_disk(&f);
    let old_key = open_key(&master, &tx, &wrapped);
    assert!(old_key.is_none(), "the old record key still opens");
    assert!(open_key(&master, &tx, &now_wrapped).is_some());
    // The kept field can be replaced; the erased one cannot come back.
    let loc2 = value(7, "location", "bay 5");
    f.private.put(&tx, std::slice::from_ref(&loc2)).unwrap();
    assert_eq!(f.private.get(&tx).unwrap(), vec![loc2]);
    assert!(matches!(
        f.private.put(&tx, &[desc]),
        Err(PrivateStoreError::ErasedField { .. })
    ));
    // Erasing the rest leaves both tombstones, the first with its own time.
    let out = f.private.erase(&tx, None, Timestamp(9)).unwrap();
    let times: Vec<(u16, u64, bool)> = out
        .iter()
        .map(|e| (e.erasure.index, e.erasure.erased_at.0, e.now))
        .collect();
    assert_eq!(times, vec![(7, 9, true), (8, 5, false)]);
}

#[test]
fn erasing_what_the_node_never_held_is_refused() {
    let f = fixture();
    let tx = Hash([3; 32]);
    assert!(matches!(
        f.private.erase(&tx, None, Timestamp(1)),
        Err(PrivateStoreError::NothingHeld(_))
    ));
    f.private
        .put(&tx, &[value(8, "description", SECRET)])
        .unwrap();
    assert!(matches!(
        f.private.erase(&tx, Some(&[7]), Timestamp(1)),
        Err(PrivateStoreError::NotHeld { index: 7, .. })
    ));
    // The refused call changed nothing.
    assert_eq!(f.private.get(&tx).unwrap().len(), 1);
    assert_eq!(f.private.erased(&tx).unwrap(), vec![]);
}

#[test]
fn a_rotation_interrupted_by_a_crash_is_finished_on_open() {
    let f = fixture();
    let (a, b) = (Hash([1; 32]), Hash([2; 32]));
    f.private.put(&a, &[value(8, "description", "a")]).unwrap();
    f.private.put(&b, &[value(8, "description", "b")]).unwrap();
    // The crash came after the next key was written and only `a` was re-sealed (sled
    // applies a batch whole, so this is the worst a crash of an older version leaves).
    let old = master_on_disk(&f);
    let next = random_key();
    create_key_file(&f.dir.path().join(NEXT_MASTER_KEY_FILE), &next).unwrap();
    let wrapped = f.store.db().get(key(KEYS, &a)).unwrap().unwrap();
    let record_key = open_key(&old, &a, &wrapped).unwrap();
    f.store
        .db()
        .insert(key(KEYS, &a), seal(&next, &a.0, &record_key))
        .unwrap();
    let s = PrivateStore::open(&f.store, f.dir.path()).unwrap();
    assert_eq!(master_on_disk(&f), next);
    assert!(!f.dir.path().join(NEXT_MASTER_KEY_FILE).exists());
    assert_eq!(s.get(&a).unwrap(), vec![value(8, "description", "a")]);
    assert_eq!(s.get(&b).unwrap(), vec![value(8, "description", "b")]);
}
