use clap::Parser;

fn main() {
    sfhq_pack::memory::use_one_malloc_arena();
    let cli = sfhq_pack::cli::Cli::parse();
    std::process::exit(sfhq_pack::run(cli).code());
}
