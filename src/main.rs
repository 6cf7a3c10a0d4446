use clap::Parser;

fn main() {
    let cli = sfhq_pack::cli::Cli::parse();
    std::process::exit(sfhq_pack::run(cli).code());
}
