//! Errors raised while building, compiling and matching patterns. The texts
//! are LPeg's and `re`'s, so scripts that test error messages keep working.

/// An `lpeg` or `re` error; becomes a Lua runtime error with this text.
#[derive(Debug, thiserror::Error)]
pub enum LpegError {
    #[error("bad argument #{arg} to '{func}' ({msg})")]
    BadArg { arg: usize, func: &'static str, msg: String },
    #[error("loop body may accept empty string")]
    EmptyLoopBody,
    #[error("rule '{0}' may be left recursive")]
    LeftRecursive(String),
    #[error("empty loop in rule '{0}'")]
    EmptyLoopInRule(String),
    #[error("rule '{0}' undefined in given grammar")]
    UndefinedRule(String),
    #[error("rule '{0}' used outside a grammar")]
    OutsideGrammar(String),
    #[error("rule '{0}' is not a pattern")]
    RuleNotPattern(String),
    #[error("initial rule '{0}' is not a pattern")]
    InitialNotPattern(String),
    #[error("grammar has no initial rule")]
    NoInitialRule,
    #[error("grammar has too many rules")]
    TooManyRules,
    #[error("too many Lua values in pattern")]
    TooManyValues,
    #[error("pattern too complex")]
    TooComplex,
    #[error("backtrack stack overflow (current limit is {0})")]
    StackOverflow(usize),
    #[error("subject too long")]
    SubjectTooLong,
    #[error("invalid position returned by match-time capture")]
    InvalidPosition,
    #[error("too many results in match-time capture")]
    TooManyResults,
    #[error("too many captures")]
    TooManyCaptures,
    #[error("subcapture nesting too deep")]
    NestingTooDeep,
    #[error("back reference '{0}' not found")]
    BackRefNotFound(String),
    #[error("reference to absent extra argument #{0}")]
    AbsentArg(u32),
    #[error("no initial value for fold capture")]
    NoFoldInitial,
    #[error("invalid capture index (%{0} in replacement string)")]
    InvalidCaptureIndex(usize),
    #[error("no capture '{0}'")]
    NoCapture(u32),
    #[error("invalid {what} value (a {ty})")]
    InvalidValue { what: &'static str, ty: &'static str },
    #[error("unexpected {0} as 2nd operand to LPeg '/'")]
    BadDivisor(&'static str),
    #[error("pattern error near '{0}'")]
    Syntax(String),
    #[error("name '{0}' undefined")]
    UndefinedClass(String),
    #[error("undefined name: {0}")]
    UndefinedDef(String),
    #[error("'{0}' already defined as a rule")]
    DuplicateRule(String),
    #[error(transparent)]
    Lua(#[from] mlua::Error),
}

impl LpegError {
    /// A `bad argument` error, as `luaL_argerror` words it.
    pub fn arg(arg: usize, func: &'static str, msg: impl Into<String>) -> LpegError {
        LpegError::BadArg { arg, func, msg: msg.into() }
    }
}

impl From<LpegError> for mlua::Error {
    fn from(e: LpegError) -> Self {
        match e {
            LpegError::Lua(e) => e,
            other => mlua::Error::runtime(other.to_string()),
        }
    }
}

/// Result of the pattern machinery.
pub type Result<T> = std::result::Result<T, LpegError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lpegs() {
        assert_eq!(
            LpegError::LeftRecursive("x".into()).to_string(),
            "rule 'x' may be left recursive"
        );
        assert_eq!(
            LpegError::StackOverflow(400).to_string(),
            "backtrack stack overflow (current limit is 400)"
        );
        assert_eq!(
            LpegError::arg(1, "B", "pattern may not have fixed length").to_string(),
            "bad argument #1 to 'B' (pattern may not have fixed length)"
        );
        let lua_err: mlua::Error = LpegError::NoInitialRule.into();
        assert!(lua_err.to_string().contains("grammar has no initial rule"));
        let mem: mlua::Error = LpegError::Lua(mlua::Error::MemoryError("x".into())).into();
        assert!(matches!(mem, mlua::Error::MemoryError(_)));
    }
}
