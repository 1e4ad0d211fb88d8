# keyflow completion for fish. Install it with:
#   keyflow completion fish > ~/.config/fish/completions/keyflow.fish
# It asks `keyflow __complete` for the candidates of the word under the cursor.
function __keyflow_complete
    set -l words (commandline -opc)[2..-1] (commandline -ct)
    set -l lines (keyflow __complete $words 2>/dev/null)
    if test "$lines[1]" = :files
        __fish_complete_path (commandline -ct)
        return
    end
    printf '%s\n' $lines
end
complete -c keyflow -f -a '(__keyflow_complete)'
