use std::process::ExitCode;

fn main() -> ExitCode {
    callbot::logging::init();
    callbot::cli::run()
}
