//! Differential: `kubeeye::yaml::measure` against libyaml itself.
//!
//! - libyaml's scanner tokens give its flow level and block indentation
//!   depth; the mirror must never see less (or a deep document would slip past
//!   the limit into the quadratic parser), and on YAML libyaml scans without
//!   error it must see exactly as much.
//! - libyaml's parser events bound the memory a document takes; the mirror's
//!   node count must stay within a constant factor of them.
#![no_main]

use std::mem::MaybeUninit;

use libfuzzer_sys::fuzz_target;
use unsafe_libyaml_norway as y;

struct Tokens {
    max_flow: usize,
    max_depth: usize,
    complete: bool,
}

/// Runs libyaml's scanner to its end or first error.
fn scan(text: &str) -> Tokens {
    let mut out = Tokens { max_flow: 0, max_depth: 0, complete: false };
    // SAFETY: the parser reads `text` only while it is borrowed here; every token is deleted.
    unsafe {
        let mut parser = MaybeUninit::<y::yaml_parser_t>::uninit();
        if y::yaml_parser_initialize(parser.as_mut_ptr()).fail {
            return out;
        }
        let parser = parser.as_mut_ptr();
        y::yaml_parser_set_input_string(parser, text.as_ptr(), text.len() as u64);
        let (mut flow, mut block) = (0usize, 0usize);
        loop {
            let mut token = MaybeUninit::<y::yaml_token_t>::uninit();
            if y::yaml_parser_scan(parser, token.as_mut_ptr()).fail {
                break;
            }
            let kind = (*token.as_ptr()).type_;
            y::yaml_token_delete(token.as_mut_ptr());
            match kind {
                y::YAML_FLOW_SEQUENCE_START_TOKEN | y::YAML_FLOW_MAPPING_START_TOKEN => flow += 1,
                y::YAML_FLOW_SEQUENCE_END_TOKEN | y::YAML_FLOW_MAPPING_END_TOKEN => flow = flow.saturating_sub(1),
                y::YAML_BLOCK_SEQUENCE_START_TOKEN | y::YAML_BLOCK_MAPPING_START_TOKEN => block += 1,
                y::YAML_BLOCK_END_TOKEN => block = block.saturating_sub(1),
                y::YAML_STREAM_END_TOKEN => {
                    out.complete = true;
                    break;
                }
                _ => {}
            }
            out.max_flow = out.max_flow.max(flow);
            out.max_depth = out.max_depth.max(flow + block);
        }
        y::yaml_parser_delete(parser);
    }
    out
}

/// Runs libyaml's parser to its end or first error: (events, documents).
fn parse(text: &str) -> (usize, usize) {
    let (mut events, mut documents) = (0, 0);
    // SAFETY: as in `scan`; every event is deleted.
    unsafe {
        let mut parser = MaybeUninit::<y::yaml_parser_t>::uninit();
        if y::yaml_parser_initialize(parser.as_mut_ptr()).fail {
            return (0, 0);
        }
        let parser = parser.as_mut_ptr();
        y::yaml_parser_set_input_string(parser, text.as_ptr(), text.len() as u64);
        loop {
            let mut event = MaybeUninit::<y::yaml_event_t>::uninit();
            if y::yaml_parser_parse(parser, event.as_mut_ptr()).fail {
                break;
            }
            let kind = (*event.as_ptr()).type_;
            y::yaml_event_delete(event.as_mut_ptr());
            events += 1;
            match kind {
                y::YAML_DOCUMENT_START_EVENT => documents += 1,
                y::YAML_STREAM_END_EVENT => break,
                _ => {}
            }
        }
        y::yaml_parser_delete(parser);
    }
    (events, documents)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Every caller strips a byte-order mark first.
    let text = kubeeye::yaml::strip_bom(text);
    let Some(ours) = kubeeye::yaml::measure(text) else { return };
    let theirs = scan(text);
    assert!(ours.max_flow >= theirs.max_flow, "flow level: ours {} < libyaml {}", ours.max_flow, theirs.max_flow);
    assert!(ours.max_depth >= theirs.max_depth, "depth: ours {} < libyaml {}", ours.max_depth, theirs.max_depth);
    if theirs.complete {
        assert_eq!(ours.max_flow, theirs.max_flow, "flow level of YAML libyaml scans");
        assert_eq!(ours.max_depth, theirs.max_depth, "depth of YAML libyaml scans");
    }
    let (events, documents) = parse(text);
    assert!(
        events <= 4 * ours.total_nodes + 4 * documents + 4,
        "{events} events in {documents} documents, {} nodes counted",
        ours.total_nodes
    );
});
