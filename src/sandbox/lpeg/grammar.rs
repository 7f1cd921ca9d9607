//! Grammars: binding `lpeg.V` references to rules, and the checks LPeg makes
//! when a grammar is built (undefined rules, left recursion, loops whose
//! body can match the empty string), plus the per-rule facts the compiler
//! uses.

use std::rc::Rc;

use super::analysis::{self, Len, RuleInfo};
use super::error::{LpegError, Result};
use super::tree::{Kind, Node, Tree, node};

/// Most rules in one grammar (LPeg's limit).
pub const MAX_RULES: usize = 1000;

/// A named rule.
#[derive(Debug)]
pub struct Rule {
    /// The rule's key as LPeg prints it in error messages.
    pub name: String,
    pub body: Tree,
}

/// A bound, checked grammar; rule 0 is the initial rule.
#[derive(Debug)]
pub struct Grammar {
    pub rules: Vec<Rule>,
    pub info: Vec<RuleInfo>,
}

impl Grammar {
    /// Binds the open calls in `rules` with `resolve` (key -> rule index,
    /// or the "undefined" error), then checks the grammar.
    pub fn build(
        rules: Vec<Rule>,
        resolve: &mut dyn FnMut(u32) -> Result<usize>,
    ) -> Result<Grammar> {
        if rules.len() > MAX_RULES {
            return Err(LpegError::TooManyRules);
        }
        let rules = rules
            .into_iter()
            .map(|r| Ok(Rule { body: bind(&r.body, resolve)?, name: r.name }))
            .collect::<Result<Vec<_>>>()?;
        let info = compute_info(&rules);
        check_left_recursion(&rules, &info)?;
        for (r, _) in rules.iter().zip(&info) {
            if has_empty_loop(&r.body, &info) {
                return Err(LpegError::EmptyLoopInRule(r.name.clone()));
            }
        }
        Ok(Grammar { rules, info })
    }

    /// The same grammar with each rule body rewritten by `f`.
    pub fn map_bodies(&self, mut f: impl FnMut(&Tree) -> Result<Tree>) -> Result<Grammar> {
        Ok(Grammar {
            rules: self
                .rules
                .iter()
                .map(|r| Ok(Rule { name: r.name.clone(), body: f(&r.body)? }))
                .collect::<Result<_>>()?,
            info: self.info.clone(),
        })
    }
}

/// Replaces open calls with calls to rule indexes.
fn bind(t: &Tree, resolve: &mut dyn FnMut(u32) -> Result<usize>) -> Result<Tree> {
    if !t.has_keys {
        return Ok(t.clone());
    }
    let mut b = |c: &Tree| bind(c, resolve);
    let kind = match &t.kind {
        Kind::OpenCall(k) => {
            let i = resolve(*k)?;
            return node(Kind::Call(u32::try_from(i).map_err(|_| LpegError::TooManyRules)?));
        }
        // Sub-grammars were bound when they were built.
        Kind::Grammar(_) => return Ok(t.clone()),
        Kind::Seq(v) => Kind::Seq(v.iter().map(&mut b).collect::<Result<_>>()?),
        Kind::Choice(v) => Kind::Choice(v.iter().map(&mut b).collect::<Result<_>>()?),
        Kind::Rep(x) => Kind::Rep(b(x)?),
        Kind::Opt(n, x) => Kind::Opt(*n, b(x)?),
        Kind::Not(x) => Kind::Not(b(x)?),
        Kind::And(x) => Kind::And(b(x)?),
        Kind::Behind(n, x) => Kind::Behind(*n, b(x)?),
        Kind::Capture { kind, key, n, body } => {
            Kind::Capture { kind: *kind, key: *key, n: *n, body: b(body)? }
        }
        Kind::RunTime { key, body } => Kind::RunTime { key: *key, body: b(body)? },
        _ => return Ok(t.clone()),
    };
    node(kind)
}

/// Fails when a rule can reach itself without consuming input: a cycle in
/// the graph of calls made before any input is consumed (searched without
/// native recursion, as call chains can be as long as the rule count).
fn check_left_recursion(rules: &[Rule], info: &[RuleInfo]) -> Result<()> {
    let edges: Vec<Vec<u32>> = rules
        .iter()
        .map(|r| {
            let mut calls = Vec::new();
            left_calls(&r.body, info, &mut calls);
            calls
        })
        .collect();
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; rules.len()];
    for start in 0..rules.len() {
        if state[start] != NEW {
            continue;
        }
        state[start] = ON_PATH;
        let mut path = vec![(start, 0usize)];
        while let Some((rule, next)) = path.last_mut() {
            let rule = *rule;
            match edges[rule].get(*next) {
                Some(&callee) => {
                    *next += 1;
                    let callee = callee as usize;
                    match state[callee] {
                        ON_PATH => {
                            return Err(LpegError::LeftRecursive(rules[callee].name.clone()));
                        }
                        NEW => {
                            state[callee] = ON_PATH;
                            path.push((callee, 0));
                        }
                        _ => {}
                    }
                }
                None => {
                    state[rule] = DONE;
                    path.pop();
                }
            }
        }
    }
    Ok(())
}

/// Collects the calls `t` can make before consuming input; returns whether
/// `t` is nullable.
fn left_calls(t: &Node, info: &[RuleInfo], calls: &mut Vec<u32>) -> bool {
    match &t.kind {
        Kind::Char(_) | Kind::Set(_) | Kind::Any(_) | Kind::Str(_) | Kind::Utf(..) => false,
        Kind::False | Kind::OpenCall(_) => false,
        Kind::True | Kind::Behind(..) => true,
        Kind::Not(b) | Kind::And(b) | Kind::Rep(b) | Kind::Opt(_, b) => {
            left_calls(b, info, calls);
            true
        }
        Kind::Capture { body, .. } | Kind::RunTime { body, .. } => left_calls(body, info, calls),
        Kind::Seq(v) => v.iter().all(|c| left_calls(c, info, calls)),
        // Every alternative's calls count, so no short-circuit here.
        Kind::Choice(v) => {
            let mut nullable = false;
            for c in v {
                nullable |= left_calls(c, info, calls);
            }
            nullable
        }
        Kind::Call(i) => {
            calls.push(*i);
            info.get(*i as usize).is_some_and(|r| r.nullable)
        }
        Kind::Grammar(g) => g.info[0].nullable,
    }
}

/// The least fixpoint of the per-rule facts.
fn compute_info(rules: &[Rule]) -> Vec<RuleInfo> {
    let mut info = vec![RuleInfo::BOTTOM; rules.len()];
    // Each fact only moves up a short lattice, so this ends after at most
    // a few passes per rule.
    loop {
        let mut changed = false;
        for (i, r) in rules.iter().enumerate() {
            let new = RuleInfo::of(&r.body, &info);
            if new != info[i] {
                info[i] = new;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for i in &mut info {
        if i.len == Len::Unknown {
            i.len = Len::Variable;
        }
    }
    info
}

/// True when a repetition in `t` has a body that can match the empty string.
fn has_empty_loop(t: &Node, info: &[RuleInfo]) -> bool {
    match &t.kind {
        Kind::Rep(b) if analysis::nullable(b, info) => true,
        Kind::Grammar(_) => false,
        k => {
            let mut found = false;
            k.for_each_child(|c| found = found || has_empty_loop(c, info));
            found
        }
    }
}

/// Wraps a grammar in a tree node.
pub fn grammar_node(g: Grammar) -> Result<Tree> {
    node(Kind::Grammar(Rc::new(g)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::lpeg::tree::{choice, leaf, literal, repeat, seq};

    fn open(k: u32) -> Tree {
        leaf(Kind::OpenCall(k))
    }

    fn build(bodies: Vec<Tree>) -> Result<Grammar> {
        let n = bodies.len();
        let rules = bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| Rule { name: format!("r{i}"), body })
            .collect();
        // Key k names rule k-1.
        Grammar::build(rules, &mut |k| {
            let i = k as usize - 1;
            if i < n { Ok(i) } else { Err(LpegError::UndefinedRule(format!("{k}"))) }
        })
    }

    #[test]
    fn balanced_parentheses_grammar_is_fine() {
        let body = seq(
            &seq(&literal(b"("), &repeat(&choice(&literal(b"x"), &open(1)).unwrap(), 0).unwrap())
                .unwrap(),
            &literal(b")"),
        )
        .unwrap();
        let g = build(vec![body]).unwrap();
        assert!(!g.info[0].nullable);
        assert_eq!(g.info[0].len, Len::Variable);
    }

    #[test]
    fn errors() {
        let e = build(vec![seq(&open(1), &literal(b"a")).unwrap()]).unwrap_err();
        assert_eq!(e.to_string(), "rule 'r0' may be left recursive");
        let e = build(vec![open(5)]).unwrap_err();
        assert!(matches!(e, LpegError::UndefinedRule(_)));
        let loop_body = repeat(&open(2), 0).unwrap();
        let e =
            build(vec![seq(&literal(b"a"), &loop_body).unwrap(), leaf(Kind::True)]).unwrap_err();
        assert_eq!(e.to_string(), "empty loop in rule 'r0'");
    }

    #[test]
    fn facts_flow_through_calls() {
        let g = build(vec![seq(&open(2), &open(2)).unwrap(), literal(b"ab")]).unwrap();
        assert_eq!(g.info[0].len, Len::Fixed(4));
        assert!(g.info[0].first.set.contains(b'a'));
        assert!(!g.info[0].has_captures);
    }
}
