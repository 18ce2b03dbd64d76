//! The shop's ids, held compactly while an import runs: every id's bytes in one arena, and a
//! hash table of their positions. A `HashMap<String, _>` costs a heap allocation and 24 bytes
//! of `String` per id plus the table's slack; at 10M orders and 5M customers that was about
//! 0.8 GB of the import's peak.

use hashbrown::HashTable;

/// The bytes of id `i`: from the end of the one before to its own end.
fn slice<'a>(bytes: &'a [u8], ends: &[usize], i: u32) -> &'a [u8] {
    let i = i as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &bytes[start..ends[i]]
}

/// Ids numbered 0, 1, 2… in the order they were added.
#[derive(Default)]
pub(crate) struct IdIndex {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    table: HashTable<u32>,
    state: ahash::RandomState,
}

impl IdIndex {
    fn bytes_of(&self, i: u32) -> &[u8] {
        slice(&self.bytes, &self.ends, i)
    }

    /// The number of `id`, if it was added.
    pub(crate) fn get(&self, id: &str) -> Option<u32> {
        let hash = self.state.hash_one(id.as_bytes());
        self.table.find(hash, |&i| self.bytes_of(i) == id.as_bytes()).copied()
    }

    /// Adds `id`, which must not be there yet, and returns its number.
    pub(crate) fn insert(&mut self, id: &str) -> u32 {
        debug_assert!(self.get(id).is_none(), "{id} was added twice");
        let n = u32::try_from(self.ends.len()).expect("fewer than 4 billion ids");
        self.bytes.extend_from_slice(id.as_bytes());
        self.ends.push(self.bytes.len());
        let hash = self.state.hash_one(id.as_bytes());
        let (bytes, ends, state) = (&self.bytes, &self.ends, &self.state);
        self.table.insert_unique(hash, n, |&i| state.hash_one(slice(bytes, ends, i)));
        n
    }

    /// The id numbered `i`.
    pub(crate) fn id(&self, i: u32) -> &str {
        // only whole `&str`s go in, so every id's bytes are UTF-8
        std::str::from_utf8(self.bytes_of(i)).expect("ids are stored from UTF-8 text")
    }

    /// How many ids.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Makes room for `n` more ids of about `bytes` bytes in all.
    pub(crate) fn reserve(&mut self, n: usize, bytes: usize) {
        self.ends.reserve(n);
        self.bytes.reserve(bytes);
        let (bytes, ends, state) = (&self.bytes, &self.ends, &self.state);
        self.table.reserve(n, |&i| state.hash_one(slice(bytes, ends, i)));
    }
}

#[cfg(test)]
mod tests {
    use super::IdIndex;

    #[test]
    fn ids_are_found_by_text_and_number() {
        let mut ids = IdIndex::default();
        ids.reserve(2, 8);
        let names: Vec<String> = (0..10_000).map(|i| format!("O{i:07}")).collect();
        for (n, id) in names.iter().enumerate() {
            assert_eq!(ids.insert(id), n as u32);
        }
        assert_eq!(ids.insert(""), 10_000);
        assert_eq!(ids.insert("Ünïcode"), 10_001);
        for (n, id) in names.iter().enumerate() {
            assert_eq!(ids.get(id), Some(n as u32));
            assert_eq!(ids.id(n as u32), id);
        }
        assert_eq!(ids.get(""), Some(10_000));
        assert_eq!(ids.id(10_001), "Ünïcode");
        assert_eq!(ids.get("O0000000 "), None);
        assert_eq!(ids.get("O00000"), None);
        assert_eq!(ids.len(), 10_002);
    }
}
