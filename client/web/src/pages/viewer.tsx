// The viewer page, /f/{id}.
import { idFrom, mount } from '../mount';
import { Viewer } from '../viewer';

mount(<Viewer id={idFrom('/f/')} />);
