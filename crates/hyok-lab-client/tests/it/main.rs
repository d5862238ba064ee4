//! hyok-lab-client without a lab: the grader's verdicts from recorded answers, and the port
//! plan against the files that repeat it.

mod grader;
mod ports;
