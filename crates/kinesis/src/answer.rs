//! An operation's answer, written in the request's encoding.
//!
//! Most operations answer a small JSON tree. GetRecords and PutRecords answer up to
//! thousands of records, so they answer typed values that serde writes straight to JSON:
//! a tree of maps for each record, built and then written out, was the largest cost of
//! those answers. CBOR answers are converted from the tree form, typed or not.

use serde::Serialize;
use serde_json::Value;

pub enum Answer {
    Tree(Value),
    Typed(Box<dyn TypedAnswer>),
}

/// A typed answer in the two forms the encodings need.
pub trait TypedAnswer: Send {
    fn to_json(&self) -> Vec<u8>;
    fn to_tree(&self) -> Value;
}

impl<T: Serialize + Send> TypedAnswer for T {
    fn to_json(&self) -> Vec<u8> {
        // Answers hold no maps with non-string keys, the only way serialising can fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn to_tree(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl Answer {
    pub fn typed(answer: impl Serialize + Send + 'static) -> Answer {
        Answer::Typed(Box::new(answer))
    }

    pub fn to_json(&self) -> Vec<u8> {
        match self {
            // Straight into a byte buffer: `to_string` goes through `fmt` one fragment at
            // a time, which was a quarter of GetRecords' CPU in a broker profile.
            Answer::Tree(tree) => serde_json::to_vec(tree).unwrap_or_default(),
            Answer::Typed(typed) => typed.to_json(),
        }
    }

    pub fn into_tree(self) -> Value {
        match self {
            Answer::Tree(tree) => tree,
            Answer::Typed(typed) => typed.to_tree(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Out {
        shard_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        next: Option<i64>,
    }

    #[test]
    fn typed_and_tree_answers_write_the_same_json() {
        let typed = Answer::typed(Out { shard_id: "shardId-000000000001".into(), next: None });
        let tree = Answer::Tree(serde_json::json!({ "ShardId": "shardId-000000000001" }));
        assert_eq!(typed.to_json(), tree.to_json());
        assert_eq!(typed.into_tree(), tree.into_tree());
    }
}
